/**
 * Owns telling where a process's resident memory is, from /proc/PID/smaps (Linux): mapped files
 * (the node binary, native addons), glibc's main malloc arena (`[heap]`, what the main thread
 * mallocs), glibc's arenas of other threads (each a 64 MiB-aligned reservation that is partly
 * mapped), and the rest of the anonymous memory (V8's heap pages of every isolate, thread stacks,
 * large mallocs that got their own mapping). A heap snapshot sees none of it but V8's objects.
 */
import { readFileSync } from 'node:fs'

export interface ProcessMappings {
  readonly fileBytes: number
  readonly mainArenaBytes: number
  readonly threadArenaBytes: number
  readonly otherAnonymousBytes: number
}

/** glibc's HEAP_MAX_SIZE on 64-bit: each thread arena reserves this, aligned to it. */
const arenaReservation = 64 * 2 ** 20

interface Mapping {
  start: bigint
  end: bigint
  perms: string
  path: string
  rssBytes: number
}

const parse = (smaps: string): Mapping[] => {
  const mappings: Mapping[] = []
  for (const line of smaps.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header) {
      mappings.push({
        start: BigInt(`0x${header[1]}`),
        end: BigInt(`0x${header[2]}`),
        perms: header[3]!,
        path: header[4]!.trim(),
        rssBytes: 0,
      })
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss && mappings.length > 0) mappings.at(-1)!.rssBytes = Number(rss[1]) * 1024
  }
  return mappings
}

export const readProcessMappings = (pid: number): ProcessMappings => {
  const mappings = parse(readFileSync(`/proc/${pid}/smaps`, 'utf8'))
  let fileBytes = 0
  let mainArenaBytes = 0
  let threadArenaBytes = 0
  let otherAnonymousBytes = 0
  mappings.forEach((mapping, i) => {
    if (mapping.path === '[heap]') mainArenaBytes += mapping.rssBytes
    else if (mapping.path.startsWith('/')) fileBytes += mapping.rssBytes
    else {
      // A thread arena: its mapped part starts on a 64 MiB boundary, and with the reserved (---p)
      // rest right after it spans exactly 64 MiB.
      const next = mappings[i + 1]
      const span =
        (next && next.start === mapping.end && next.perms.startsWith('---') ? next.end : mapping.end) - mapping.start
      const isArena =
        mapping.perms.startsWith('rw') &&
        mapping.start % BigInt(arenaReservation) === 0n &&
        span === BigInt(arenaReservation)
      if (isArena) threadArenaBytes += mapping.rssBytes
      else otherAnonymousBytes += mapping.rssBytes
    }
  })
  return { fileBytes, mainArenaBytes, threadArenaBytes, otherAnonymousBytes }
}
