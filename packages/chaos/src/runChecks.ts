/**
 * Owns the verdict on one real-process run: what the relay's store must hold
 * at each stop, and the checks after the final heal (every honest replica,
 * every relay's view and the stored state identical; nothing acknowledged,
 * committed or covered by a resolved `whenSynced()` lost (at each relay stop
 * and at the end); no honest write
 * vanished without its replica being told; nothing pending; no honest
 * connection closed by the relay for a protocol error; the relays' memory
 * back within a bound; an auth-frame flood's cost bounded, authFloodCheck.ts),
 * each broken one as a problem in words.
 */
import * as Y from 'yjs'
import { authFloodProblems } from './authFloodCheck.js'
import type { ReplicaReport } from './replicaMessages.js'
import { checkSet, type SetCheck } from './setChecker.js'
import { contentOf, elementsOf, stateVectorOf } from './workload.js'
import type { WriteLedger } from './writeLedger.js'

export interface FaultCounts {
  partitions: number
  stalls: number
  delays: number
  replicaCrashes: number
  relayKills: number
  relayTerms: number
  hostile: number
  lifecycles: number
  moves: number
  cluster: number
  storage: number
  tabKills: number
}

/** The counts of a run before its first fault. */
export const noFaults = (): FaultCounts => ({
  partitions: 0,
  stalls: 0,
  delays: 0,
  replicaCrashes: 0,
  relayKills: 0,
  relayTerms: 0,
  hostile: 0,
  lifecycles: 0,
  moves: 0,
  cluster: 0,
  storage: 0,
  tabKills: 0,
})

export interface MidRunChecks {
  relayStoreChecks: number
  /** Acknowledged before a stop, and not in the relay's store at all. */
  readonly lostAtRelayStop: Set<string>
  /**
   * Acknowledged before a stop, and in the store, but not readable: the update that holds it
   * depends on one the relay forwarded before it was durable and lost in the crash, so it waits
   * until a replica sends that one again.
   */
  readonly unreadableAtRelayStop: Set<string>
  /** Covered by a `whenSynced()` that resolved before a stop, and not readable in the store. */
  readonly syncedButMissingAtStop: Set<string>
  reloadChecks: number
  readonly lostAtReload: Set<string>
  /** The longest the relay took to answer /healthz during a hostile auth-frame flood (reported; see authFloodCheck.ts). */
  authFloodStallMs: number
  /** The most relay CPU time per auth frame of a hostile auth-frame flood, in ms: what fails a run. */
  authFloodCpuMsPerFrame: number
  /** Auth-frame floods whose relay CPU time was read. */
  authFloods: number
  /** How much more memory a relay held after a queued-frame flood's peer left than before it. */
  queuedRetainedBytes: number
  /** SIGTERMs after which a relay had not exited within 30 s. */
  termHangs: number
}

export interface JepsenResult {
  readonly seed: number
  readonly midRun: MidRunChecks
  readonly set: SetCheck
  readonly faults: FaultCounts
  /** Honest writes missing at the end whose replica was never told (no typed error). */
  readonly vanished: readonly string[]
  /** Writes a resolved `whenSynced()` covered that are missing from the final stored state. */
  readonly syncedButLost: readonly string[]
  /** Replicas, and relays' views, whose state vector or content differs from the relay's stored state. */
  readonly divergent: readonly string[]
  /** Replicas still reporting pending updates after the settle. */
  readonly stillPending: readonly string[]
  /** From the last heal until every replica was synced and identical; undefined if it never was. */
  readonly convergeMs: number | undefined
  readonly errorCounts: Readonly<Record<string, number>>
  readonly problems: readonly string[]
  /** The schedule and what happened, with times since the start. */
  readonly log: readonly string[]
}

/** How much a relay's resident set may grow over a run, from its last start to after its clients left. */
export const memoryBoundBytes = 192 * 1024 * 1024

/** A list for a problem line: its length, and its first elements. */
const listed = (elements: readonly string[]): string =>
  `${elements.length} (${elements.slice(0, 20).join(', ')}${elements.length > 20 ? ', ...' : ''})`

/** The elements in updates the document holds but cannot integrate yet, for want of an update they depend on. */
const elementsWaitingIn = (doc: Y.Doc): Set<string> => {
  const waiting = new Set<string>()
  const pending = doc.store.pendingStructs
  if (!pending) return waiting
  // Yjs keeps pending structs in its v2 encoding.
  for (const struct of Y.decodeUpdateV2(pending.update).structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) continue
    for (const value of struct.content.arr) if (typeof value === 'string') waiting.add(value)
  }
  return waiting
}

/** What of `acknowledged` and `claimed` the stored documents lack. */
export const storeCheck = (
  stored: ReadonlyMap<string, Y.Doc>,
  acknowledged: readonly string[],
  claimed: readonly string[],
): { missing: string[]; unreadable: string[]; claimedMissing: string[] } => {
  const present = new Set<string>()
  const waiting = new Set<string>()
  for (const doc of stored.values()) {
    for (const element of elementsOf(doc).toArray()) present.add(element)
    for (const element of elementsWaitingIn(doc)) waiting.add(element)
  }
  const absent = acknowledged.filter((element) => !present.has(element))
  return {
    missing: absent.filter((element) => !waiting.has(element)),
    unreadable: absent.filter((element) => waiting.has(element)),
    claimedMissing: claimed.filter((element) => !present.has(element)),
  }
}

export interface FinalCheckInput {
  readonly seed: number
  readonly documents: readonly string[]
  readonly reports: readonly ReplicaReport[]
  readonly stored: ReadonlyMap<string, Y.Doc>
  readonly ledger: WriteLedger
  readonly midRun: MidRunChecks
  readonly faults: FaultCounts
  readonly convergeMs: number | undefined
  readonly settleTimeoutMs: number
  readonly memory: ReadonlyArray<{ start: number | undefined; end: number | undefined }>
  /** Replicas that crashed or hung on their own, with why. */
  readonly unresponsive: readonly string[]
  /** `--readers`: the replica with a read-only token; its own edits stay its own. */
  readonly reader: number | undefined
  /** What each running relay served a fresh reader of each document after the settle. */
  readonly relayViews: ReadonlyArray<{
    readonly relay: number
    readonly doc: string
    readonly view: { stateVector: string; content: string } | undefined
  }>
  readonly log: readonly string[]
}

export const finalChecks = (input: FinalCheckInput): JepsenResult => {
  const { seed, documents, reports, stored, ledger, midRun, faults, convergeMs, settleTimeoutMs, memory, log } = input
  const problems: string[] = []
  if (input.unresponsive.length > 0)
    problems.push(`honest replicas stopped answering: ${input.unresponsive.join('; ')}`)
  if (convergeMs === undefined) problems.push(`not converged ${settleTimeoutMs} ms after the last heal`)
  // Every replica is compared with what the relay stored: the state every fresh reader gets.
  const divergent = new Set<string>()
  const stillPending = new Set<string>()
  for (const doc of documents) {
    const storedDoc = stored.get(doc)
    const reference = storedDoc && { stateVector: stateVectorOf(storedDoc), content: contentOf(storedDoc) }
    if (storedDoc && (storedDoc.store.pendingStructs || storedDoc.store.pendingDs)) {
      problems.push(`the relay's stored ${doc} holds updates no reader can integrate`)
    }
    for (const { relay, doc: viewed, view } of input.relayViews) {
      if (viewed !== doc) continue
      if (!view || view.stateVector !== reference?.stateVector || view.content !== reference.content) {
        divergent.add(`relay ${relay}'s view`)
      }
    }
    for (const [index, report] of reports.entries()) {
      if (index === input.reader) continue
      const mine = report.documents[doc]
      if (!mine || mine.stateVector !== reference?.stateVector || mine.content !== reference.content) {
        divergent.add(`r${index}`)
      }
      if ((mine?.pending ?? 0) > 0) stillPending.add(`r${index}`)
    }
  }
  const final = documents.flatMap((doc) => {
    const storedDoc = stored.get(doc)
    return storedDoc ? elementsOf(storedDoc).toArray() : []
  })
  const set = checkSet(ledger, final)
  // A read-only replica's writes cannot reach anyone: its being told is what counts (`vanished`).
  const lostCommitted = set.lostCommitted.filter((element) => !ledger.readOnly.has(element))
  const vanished = ledger.vanished(new Set(final))
  const present = new Set(final)
  const syncedButLost = [...ledger.syncClaimed].filter((element) => !present.has(element))
  if (divergent.size > 0) problems.push(`divergent from the relay's store: ${[...divergent].join(', ')}`)
  if (stillPending.size > 0) problems.push(`still pending: ${[...stillPending].join(', ')}`)
  if (set.lost.length > 0) problems.push(`lost acknowledged writes: ${listed(set.lost)}`)
  if (lostCommitted.length > 0) problems.push(`lost committed writes: ${listed(lostCommitted)}`)
  if (midRun.lostAtRelayStop.size > 0) {
    problems.push(
      `acknowledged writes missing from the relay store after a stop: ${listed([...midRun.lostAtRelayStop])}`,
    )
  }
  if (midRun.syncedButMissingAtStop.size > 0) {
    problems.push(
      `whenSynced() resolved while the relay store lacked the write (at a stop): ${listed([...midRun.syncedButMissingAtStop])}`,
    )
  }
  if (syncedButLost.length > 0) {
    problems.push(`whenSynced() resolved for writes missing from the final state: ${listed(syncedButLost)}`)
  }
  if (midRun.lostAtReload.size > 0) {
    problems.push(`committed writes missing after a replica reload: ${listed([...midRun.lostAtReload])}`)
  }
  if (set.unexpected.length > 0) problems.push(`unexpected elements: ${listed(set.unexpected)}`)
  if (vanished.length > 0) {
    problems.push(
      `writes vanished with no error told to their replica: ${listed(vanished)}; first: ${vanished
        .slice(0, 3)
        .map((element) => `${element} (${ledger.history(element)})`)
        .join('; ')}`,
    )
  }
  if (ledger.relayCloses.length > 0) {
    problems.push(`honest connections closed by the relay: ${listed(ledger.relayCloses)}`)
  }
  problems.push(...authFloodProblems(midRun))
  if (midRun.termHangs > 0) problems.push(`a relay had not exited 30 s after SIGTERM, ${midRun.termHangs} times`)
  if (midRun.queuedRetainedBytes > memoryBoundBytes) {
    problems.push(
      `a relay kept ${Math.round(midRun.queuedRetainedBytes / 2 ** 20)} MiB more after a peer that queued frames for loading documents left`,
    )
  }
  for (const [relay, { start, end }] of memory.entries()) {
    if (start !== undefined && end !== undefined && end - start > memoryBoundBytes) {
      problems.push(
        `relay ${relay}'s memory grew from ${Math.round(start / 2 ** 20)} MiB to ${Math.round(end / 2 ** 20)} MiB`,
      )
    }
  }
  return {
    seed,
    midRun,
    // A read-only replica's writes are refused by design: not lost, so not counted as lost either.
    set: { ...set, lostCommitted },
    faults,
    vanished,
    syncedButLost,
    divergent: [...divergent],
    stillPending: [...stillPending],
    convergeMs,
    errorCounts: ledger.errorCounts(),
    problems,
    log,
  }
}
