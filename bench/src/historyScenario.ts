/**
 * Owns the two scenarios of version history (issue 17): the live fan-out with history on (a quiet
 * time short enough that versions are taken while it runs) and off (`--no-history`), in rounds of
 * one run that alternate which goes first; and what one version of the automerge-paper document
 * costs in a relay on SQLite: its bytes, the time to take a named one, to load one, and to restore
 * the halfway one.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRelay } from '@concord/relay'
import { SqliteDocStore } from '@concord/relay/sqlite'
import * as Y from 'yjs'
import type { FanoutResult } from './load/fanout.js'
import type { Profile } from './profiles.js'
import { mergeThroughDoc, runLoad, withServer, type RunOptions } from './scenarios.js'
import { defaultTrace, replayTrace } from './trace.js'

/** Short enough that the fan-out's documents get versions while it runs (the defaults are 60 s and 10 min). */
export const benchHistory = { quietMs: 1000, maxIntervalMs: 3000 } as const

export interface HistoryFanoutRound {
  readonly on: FanoutResult
  readonly off: FanoutResult
  /** Automatic versions the relay with history took while the load ran (not those of its shutdown). */
  readonly versionsTaken: number
  /** All it had stored once it stopped (its shutdown takes one of each document edited since its last). */
  readonly versionsAtStop: number
  readonly onFirst: boolean
}

export interface HistoryFanoutResult {
  readonly quietMs: number
  readonly maxIntervalMs: number
  readonly docs: number
  readonly rounds: HistoryFanoutRound[]
}

interface CountedRun {
  readonly result: FanoutResult
  readonly versionsTaken: number
  readonly versionsAtStop: number
}

const fanoutDoc = (index: number): string => `bench-fanout-${index}`

/** One fan-out against `kind`, then the versions its store holds, counted from the SQLite file once it stopped. */
const countedFanout = async (
  kind: 'concord' | 'concord-no-history',
  profile: Profile,
  options: RunOptions,
): Promise<CountedRun> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'concord-bench-history-'))
  try {
    let loadEnd = 0
    const result = await withServer(
      kind,
      options,
      {
        scenario: `fan-out, history ${kind === 'concord' ? 'on' : 'off'}`,
        dataDir,
        ...(kind === 'concord' && {
          relayArgs: [
            '--history-quiet-ms',
            String(benchHistory.quietMs),
            '--history-max-interval-ms',
            String(benchHistory.maxIntervalMs),
          ],
        }),
      },
      async (server) => {
        const loaded = await runLoad<FanoutResult>({
          scenario: 'fanout',
          url: server.url,
          dialect: 'y-websocket',
          serverPid: server.pid,
          ...profile.fanout,
        })
        loadEnd = Date.now()
        return loaded
      },
    )
    const store = new SqliteDocStore(join(dataDir, 'concord.sqlite'))
    try {
      let versionsTaken = 0
      let versionsAtStop = 0
      for (let doc = 0; doc < profile.fanout.docs; doc++) {
        const versions = await store.listVersions(fanoutDoc(doc), { limit: 100_000 })
        versionsAtStop += versions.length
        versionsTaken += versions.filter((version) => version.createdAt <= loadEnd).length
      }
      return { result, versionsTaken, versionsAtStop }
    } finally {
      await store.close()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

export const runHistoryFanoutScenario = async (profile: Profile, options: RunOptions): Promise<HistoryFanoutResult> => {
  const rounds: HistoryFanoutRound[] = []
  for (let round = 0; round < profile.history.rounds; round++) {
    // Which goes first alternates, so that a drift of the machine's load does not favour one.
    const onFirst = round % 2 === 0
    const runs: Partial<Record<'on' | 'off', CountedRun>> = {}
    for (const which of onFirst ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      options.log(`fan-out, history ${which} (round ${round + 1} of ${profile.history.rounds})`)
      runs[which] = await countedFanout(which === 'on' ? 'concord' : 'concord-no-history', profile, options)
    }
    rounds.push({
      on: runs.on!.result,
      off: runs.off!.result,
      versionsTaken: runs.on!.versionsTaken,
      versionsAtStop: runs.on!.versionsAtStop,
      onFirst,
    })
  }
  return { ...benchHistory, docs: profile.fanout.docs, rounds }
}

export interface VersionCostResult {
  readonly txns: number
  readonly textLength: number
  /** The document's state as one Yjs update (what compaction stores). */
  readonly stateBytes: number
  /** The stored version of the whole document. */
  readonly versionBytes: number
  readonly halfwayBytes: number
  /** relay.saveVersion of the whole document, each run. */
  readonly saveMs: number[]
  /** The longest the event loop was held while each of those ran (its synchronous part: encoding, hashing). */
  readonly saveStallMs: number[]
  /** relay.loadVersion of the whole document's version, each run. */
  readonly loadMs: number[]
  /** relay.restoreVersion of the halfway version (the document then whole again), each run. */
  readonly restoreHalfwayMs: number[]
  /** relay.restoreVersion of the whole document's version, from the halfway content, each run. */
  readonly restoreWholeMs: number[]
  /** The longest the event loop was held while each restore of the halfway version ran. */
  readonly restoreHalfwayStallMs: number[]
  /** ... and while each restore of the whole document's version ran. */
  readonly restoreWholeStallMs: number[]
}

const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const start = performance.now()
  const value = await work()
  return [value, performance.now() - start]
}

/**
 * `work`'s time, and the longest gap between the ticks of a 1 ms timer while it ran (from its start
 * to its end): how long it held the event loop, plus any time the OS gave the process no core.
 */
const timedWithStall = async <T>(work: () => Promise<T>): Promise<[T, number, number]> => {
  let last = performance.now()
  let longest = 0
  const tick = (): void => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }
  const timer = setInterval(tick, 1)
  try {
    const [value, elapsed] = await timed(work)
    tick()
    return [value, elapsed, longest]
  } finally {
    clearInterval(timer)
  }
}

/**
 * The trace's first half stored as one compacted row, a named version of it, the rest applied as one
 * server-side edit; then named versions of the whole, loads, and restores to the halfway version and back.
 */
export const runVersionCostScenario = async (profile: Profile, options: RunOptions): Promise<VersionCostResult> => {
  options.log('version cost: replaying the trace')
  const { updates, text } = replayTrace(defaultTrace, profile.versions.txns)
  const half = mergeThroughDoc(updates.slice(0, Math.floor(updates.length / 2)))
  const whole = mergeThroughDoc(updates)
  const name = 'bench-history'
  const dir = await mkdtemp(join(tmpdir(), 'concord-bench-versions-'))
  const store = new SqliteDocStore(join(dir, 'concord.sqlite'))
  // Automatic versions would run beside the measured calls: far away.
  const relay = createRelay({ store, history: { quietMs: 3_600_000, maxIntervalMs: 3_600_000, retention: false } })
  try {
    await store.append(name, half)
    options.log('version cost: saving and restoring')
    const halfway = await relay.saveVersion(name, { label: 'halfway' })
    const handle = await relay.openDocument(name)
    Y.applyUpdate(handle.doc, whole)
    await handle.close()
    const saveMs: number[] = []
    const saveStallMs: number[] = []
    const loadMs: number[] = []
    const restoreHalfwayMs: number[] = []
    const restoreWholeMs: number[] = []
    const restoreHalfwayStallMs: number[] = []
    const restoreWholeStallMs: number[] = []
    let wholeVersion = halfway
    for (let run = 0; run < profile.versions.repeats; run++) {
      const [saved, savedMs, stallMs] = await timedWithStall(() =>
        relay.saveVersion(name, { label: `whole ${run + 1}` }),
      )
      wholeVersion = saved
      saveMs.push(savedMs)
      saveStallMs.push(stallMs)
      loadMs.push((await timed(() => relay.loadVersion(name, saved.id)))[1])
    }
    const check = await relay.loadVersion(name, wholeVersion.id)
    const checkDoc = new Y.Doc()
    Y.applyUpdate(checkDoc, check.state)
    if (checkDoc.getText('t').toString() !== text) throw new Error('the saved version does not hold the whole text')
    checkDoc.destroy()
    for (let run = 0; run < profile.versions.restoreRepeats; run++) {
      const kinds = { kinds: { t: 'text' as const } }
      const [, halfwayMs, halfwayStallMs] = await timedWithStall(() => relay.restoreVersion(name, halfway.id, kinds))
      restoreHalfwayMs.push(halfwayMs)
      restoreHalfwayStallMs.push(halfwayStallMs)
      const [, wholeMs, wholeStallMs] = await timedWithStall(() => relay.restoreVersion(name, wholeVersion.id, kinds))
      restoreWholeMs.push(wholeMs)
      restoreWholeStallMs.push(wholeStallMs)
    }
    return {
      txns: updates.length,
      textLength: text.length,
      stateBytes: whole.byteLength,
      versionBytes: wholeVersion.bytes,
      halfwayBytes: halfway.bytes,
      saveMs,
      saveStallMs,
      loadMs,
      restoreHalfwayMs,
      restoreWholeMs,
      restoreHalfwayStallMs,
      restoreWholeStallMs,
    }
  } finally {
    await relay.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}
