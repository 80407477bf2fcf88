/**
 * Owns summarizing a V8 heap snapshot (.heapsnapshot, as threadMemory.ts writes them): the bytes
 * of its objects by kind (code, strings, arrays, objects, native) and the constructors whose
 * objects hold the most bytes of their own (self size; what they keep alive beyond that is the
 * DevTools' retained size, not computed here). Also a command: `node dist/heapSummary.js FILE [N]`.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface HeapSummary {
  readonly totalBytes: number
  /** Self bytes by node type (`code`, `string`, `object`, `array`, `closure`, `native`, `hidden`, ...). */
  readonly byType: Record<string, number>
  /** The groups with the most self bytes: `type name`, bytes, count. */
  readonly top: Array<{ readonly name: string; readonly bytes: number; readonly count: number }>
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

export const summarizeHeapSnapshot = (file: string, topCount = 20): HeapSummary => {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8')) as Snapshot
  const fields = snapshot.meta.node_fields
  const types = snapshot.meta.node_types[0]
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const byType: Record<string, number> = {}
  const groups = new Map<string, { bytes: number; count: number }>()
  let totalBytes = 0
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]!] ?? 'unknown'
    const size = nodes[i + sizeAt]!
    totalBytes += size
    byType[type] = (byType[type] ?? 0) + size
    // Objects are grouped by constructor; strings, code and the like by their type only.
    const grouped = type === 'object' || type === 'native' || type === 'closure' || type === 'hidden'
    const name = grouped ? `${type} ${strings[nodes[i + nameAt]!]!.slice(0, 60)}` : type
    const group = groups.get(name) ?? { bytes: 0, count: 0 }
    group.bytes += size
    group.count++
    groups.set(name, group)
  }
  const top = [...groups]
    .map(([name, { bytes, count }]) => ({ name, bytes, count }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, topCount)
  return { totalBytes, byType, top }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, count] = process.argv.slice(2)
  if (!file) {
    console.error('usage: node dist/heapSummary.js FILE.heapsnapshot [N]')
    process.exit(2)
  }
  const summary = summarizeHeapSnapshot(file, Number(count ?? 25))
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(2)
  const print = (line: string): boolean => process.stdout.write(`${line}\n`)
  print(`${file}: ${mib(summary.totalBytes)} MiB in objects`)
  for (const [type, bytes] of Object.entries(summary.byType).sort((a, b) => b[1] - a[1])) {
    print(`  ${type.padEnd(16)} ${mib(bytes).padStart(8)} MiB`)
  }
  print('largest groups (self size):')
  for (const { name, bytes, count } of summary.top) {
    print(`  ${mib(bytes).padStart(8)} MiB  ${String(count).padStart(8)}  ${name}`)
  }
}
