/**
 * Owns one Jepsen-style run of real processes: the relay as a child process
 * on SQLite, N replica processes each with its own store on disk, a TCP
 * proxy on each replica's link, and the seed's schedule of writes and
 * faults. At the end everything is healed and left to settle, and the run is
 * checked: every replica and the relay's store identical, nothing
 * acknowledged or committed lost, nothing unexpected, nothing left pending.
 */
import { cp, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SqliteDocStore } from '@concord/relay/sqlite'
import * as Y from 'yjs'
import { LinkProxy } from './linkProxy.js'
import { ReplicaProcess } from './replica.js'
import type { ReplicaReport } from './replicaMessages.js'
import { RelayProcess } from './relayProcess.js'
import { createSchedule, describeStep, type Step } from './schedule.js'
import { checkSet, type SetCheck } from './setChecker.js'
import { contentOf, elementsOf, stateVectorOf } from './workload.js'

export interface JepsenOptions {
  readonly seed: number
  readonly replicas: number
  readonly ops: number
  /** An empty folder for the relay's and the replicas' stores. */
  readonly workDir: string
  /** A pause after each write, so the run lasts long enough for reconnects and acks between faults. Default 5 ms. */
  readonly writeIntervalMs?: number
  /** How long the healed system may take to converge. Default 90 s. */
  readonly settleTimeoutMs?: number
  /**
   * The least time the relay stays up before the next scheduled stop. A relay killed before its
   * clients could reconnect tests nothing more than one long outage. Default 1 s.
   */
  readonly minRelayUptimeMs?: number
  /**
   * Breaks the system on purpose, to show the checks catch it: `relay-store` deletes the relay's
   * SQLite files at every stop, `replica-store` deletes a crashed replica's store before its restart.
   */
  readonly sabotage?: 'relay-store' | 'replica-store' | undefined
}

export interface FaultCounts {
  partitions: number
  stalls: number
  delays: number
  replicaCrashes: number
  relayKills: number
  relayTerms: number
}

export interface JepsenResult {
  readonly seed: number
  /**
   * After every relay stop, its store was read before it restarted: every write acknowledged
   * before the stop must be in it. After every replica restart, every write it ever committed
   * must be in its reloaded document.
   */
  readonly midRun: {
    readonly relayStoreChecks: number
    /** Acknowledged before a stop, and not in the relay's store at all. */
    readonly lostAtRelayStop: ReadonlySet<string>
    /**
     * Acknowledged before a stop, and in the store, but not readable: the update that holds it
     * depends on one the relay forwarded before it was durable and lost in the crash, so it waits
     * until a replica sends that one again.
     */
    readonly unreadableAtRelayStop: ReadonlySet<string>
    readonly reloadChecks: number
    readonly lostAtReload: ReadonlySet<string>
  }
  readonly set: SetCheck
  readonly faults: FaultCounts
  /** Replicas, and the relay's store, whose state vector or content differs from replica 0's. */
  readonly divergent: readonly string[]
  /** Replicas still reporting pending updates after the settle. */
  readonly stillPending: readonly string[]
  /** From the last heal until every replica was synced and identical; undefined if it never was. */
  readonly convergeMs: number | undefined
  readonly problems: readonly string[]
  /** The schedule and what happened, with times since the start. */
  readonly log: readonly string[]
}

const document = 'chaos'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A list for a problem line: its length, and its first elements. */
const listed = (elements: readonly string[]): string =>
  `${elements.length} (${elements.slice(0, 20).join(', ')}${elements.length > 20 ? ', ...' : ''})`

const removeSqlite = (path: string) =>
  Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })))

/** The document as the relay stored it, read with the relay's own store while the relay is down. */
const readRelayStore = async (relayDir: string): Promise<Y.Doc> => {
  const store = new SqliteDocStore(RelayProcess.storePath(relayDir))
  const doc = new Y.Doc()
  try {
    const updates = await store.load(document)
    if (updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(updates))
  } finally {
    await store.close()
  }
  return doc
}

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

const sameState = (a: { stateVector: string; content: string }, b: { stateVector: string; content: string }) =>
  a.stateVector === b.stateVector && a.content === b.content

export const runJepsen = async (options: JepsenOptions): Promise<JepsenResult> => {
  const {
    seed,
    replicas: count,
    ops,
    workDir,
    writeIntervalMs = 5,
    settleTimeoutMs = 90_000,
    minRelayUptimeMs = 1_000,
    sabotage,
  } = options
  const startedAt = Date.now()
  const log: string[] = []
  const note = (line: string) => log.push(`+${Date.now() - startedAt}ms ${line}`)
  const faults: FaultCounts = { partitions: 0, stalls: 0, delays: 0, replicaCrashes: 0, relayKills: 0, relayTerms: 0 }
  const attempted = new Set<string>()
  const committed = new Set<string>()
  const acknowledged = new Set<string>()
  /** Which elements each replica's store row holds: `replica:row`. A row holds several once the client merges rows. */
  const elementsOfRow = new Map<string, string[]>()
  const problems: string[] = []
  /** What the harness heard of each write, for the log of a failed seed. */
  const history = new Map<string, string>()
  const committedBy = Array.from({ length: count }, () => new Set<string>())
  /** Checks made while the run goes on: at each relay stop, and at each replica restart. */
  const midRun = {
    relayStoreChecks: 0,
    lostAtRelayStop: new Set<string>(),
    unreadableAtRelayStop: new Set<string>(),
    reloadChecks: 0,
    lostAtReload: new Set<string>(),
  }

  const relayDir = join(workDir, 'relay')
  await mkdir(relayDir, { recursive: true })
  let relay: RelayProcess | undefined = await RelayProcess.start(relayDir)
  let relayStartedAt = Date.now()
  const proxies = await Promise.all(Array.from({ length: count }, () => LinkProxy.start(relay!.port)))
  const storePathOf = (index: number) => join(workDir, `replica-${index}.sqlite`)
  const replicas: Array<ReplicaProcess | undefined> = Array.from({ length: count }, () => undefined)
  const startReplica = async (index: number): Promise<void> => {
    replicas[index] = await ReplicaProcess.start(storePathOf(index), proxies[index]!.url, document, {
      committed: (element, id) => {
        history.set(element, `r${index} row ${id} committed +${Date.now() - startedAt}ms`)
        committed.add(element)
        committedBy[index]!.add(element)
        elementsOfRow.set(`${index}:${id}`, [element])
      },
      acknowledged: (ids) => {
        for (const id of ids) {
          for (const element of elementsOfRow.get(`${index}:${id}`) ?? []) {
            acknowledged.add(element)
            history.set(element, `${history.get(element)}, acknowledged +${Date.now() - startedAt}ms`)
          }
        }
      },
      merged: (ids, into) => {
        const elements = ids.flatMap((id) => elementsOfRow.get(`${index}:${id}`) ?? [])
        for (const id of ids) elementsOfRow.delete(`${index}:${id}`)
        elementsOfRow.set(`${index}:${into}`, elements)
        for (const element of elements) history.set(element, `${history.get(element)}, merged into row ${into}`)
      },
    })
  }
  // Process restarts run in the background while writes go on; each replica's, and the relay's, in order.
  let relayWork = Promise.resolve()
  const replicaWork = Array.from({ length: count }, () => Promise.resolve())

  try {
    await Promise.all(replicas.map((_, index) => startReplica(index)))
    const schedule = createSchedule({ seed, replicas: count, ops })
    note(`seed ${seed}: ${count} replicas, ${ops} writes, ${schedule.length - ops} fault steps`)

    const run = (step: Step): void => {
      switch (step.kind) {
        case 'write': {
          // A crashed replica's writes go to the next one that runs, as its user would move on.
          for (let i = 0; i < count; i++) {
            const replica = replicas[(step.replica + i) % count]
            if (!replica?.alive) continue
            attempted.add(step.write.element)
            replica.write(step.write)
            return
          }
          note(`no replica running: ${step.write.element} not attempted`)
          return
        }
        case 'partition':
          note(describeStep(step))
          for (const index of step.replicas) {
            const proxy = proxies[index]!
            if (step.fault === 'cut') proxy.cut()
            else if (step.fault === 'stall') proxy.stall()
            else proxy.delayMs = step.delayMs
          }
          if (step.fault === 'cut') faults.partitions++
          else if (step.fault === 'stall') faults.stalls++
          else faults.delays++
          return
        case 'heal':
          note(describeStep(step))
          for (const index of step.replicas) proxies[index]!.heal()
          return
        case 'crashReplica':
          replicaWork[step.replica] = replicaWork[step.replica]!.then(async () => {
            const replica = replicas[step.replica]
            if (!replica) return
            note(describeStep(step))
            faults.replicaCrashes++
            replicas[step.replica] = undefined
            await replica.kill()
          })
          return
        case 'restartReplica':
          replicaWork[step.replica] = replicaWork[step.replica]!.then(async () => {
            if (replicas[step.replica]) return
            note(describeStep(step))
            const expected = [...committedBy[step.replica]!]
            if (sabotage === 'replica-store') await removeSqlite(storePathOf(step.replica))
            await startReplica(step.replica)
            const reloaded = new Set((await replicas[step.replica]!.report(true)).elements)
            const missing = expected.filter((element) => !reloaded.has(element))
            midRun.reloadChecks++
            for (const element of missing) midRun.lostAtReload.add(element)
            if (missing.length > 0) note(`r${step.replica} reloaded without ${missing.length} committed writes`)
          })
          return
        case 'stopRelay':
          relayWork = relayWork.then(async () => {
            if (!relay) return
            await sleep(relayStartedAt + minRelayUptimeMs - Date.now())
            note(describeStep(step))
            if (step.signal === 'SIGKILL') faults.relayKills++
            else faults.relayTerms++
            const stopping = relay
            relay = undefined
            await stopping.stop(step.signal)
            if (sabotage === 'relay-store') await removeSqlite(RelayProcess.storePath(relayDir))
            // Every ack the harness has heard of was sent before the relay died: it must be in the store.
            const expected = [...acknowledged]
            const storedDoc = await readRelayStore(relayDir)
            const stored = new Set(elementsOf(storedDoc).toArray())
            const waiting = elementsWaitingIn(storedDoc)
            const missing = expected.filter((element) => !stored.has(element))
            midRun.relayStoreChecks++
            // Keep the store as it was, for the post-mortem.
            if (missing.length > 0)
              await cp(relayDir, join(workDir, `relay-at-stop-${midRun.relayStoreChecks}`), { recursive: true })
            for (const element of missing) {
              if (waiting.has(element)) midRun.unreadableAtRelayStop.add(element)
              else midRun.lostAtRelayStop.add(element)
            }
            note(
              `relay store after ${step.signal}: ${expected.length} acknowledged, ${missing.length} missing` +
                (missing.length > 0
                  ? ` (${missing.filter((e) => waiting.has(e)).length} stored but waiting): ${missing.map((element) => `${element} (${history.get(element)})`).join('; ')}`
                  : ''),
            )
          })
          return
        case 'restartRelay':
          relayWork = relayWork.then(async () => {
            if (relay) return
            relay = await RelayProcess.start(relayDir)
            relayStartedAt = Date.now()
            note(`${describeStep(step)} on port ${relay.port}`)
            for (const proxy of proxies) proxy.retarget(relay.port)
          })
          return
      }
    }

    for (const step of schedule) {
      run(step)
      if (step.kind === 'write') await sleep(writeIntervalMs)
    }

    // Heal everything and let it settle.
    await Promise.all([relayWork, ...replicaWork])
    if (!relay) {
      relay = await RelayProcess.start(relayDir)
      for (const proxy of proxies) proxy.retarget(relay.port)
    }
    for (const proxy of proxies) proxy.heal()
    await Promise.all(replicas.map((replica, index) => (replica ? undefined : startReplica(index))))
    const healedAt = Date.now()
    note('everything healed')

    let reports: ReplicaReport[] = []
    let convergeMs: number | undefined
    while (Date.now() - healedAt < settleTimeoutMs) {
      // The cheap report first; the content only once the state vectors agree.
      const states = await Promise.all(replicas.map((replica) => replica!.report(false)))
      const settled = (report: ReplicaReport) =>
        report.pending === 0 && report.status === 'synced' && report.stateVector === states[0]!.stateVector
      if (states.every(settled)) {
        reports = await Promise.all(replicas.map((replica) => replica!.report(true)))
        if (reports.every((report) => settled(report) && sameState(report, reports[0]!))) {
          convergeMs = Date.now() - healedAt
          break
        }
      }
      await sleep(50)
    }
    note(convergeMs === undefined ? 'did not converge' : `converged in ${convergeMs} ms`)
    if (convergeMs === undefined) reports = await Promise.all(replicas.map((replica) => replica!.report(true)))
    if (convergeMs === undefined) problems.push(`not converged ${settleTimeoutMs} ms after the last heal`)

    await Promise.all(replicas.map((replica) => replica!.stop()))
    await relay.stop('SIGTERM')
    relay = undefined
    const relayDoc = await readRelayStore(relayDir)
    const relayState = { stateVector: stateVectorOf(relayDoc), content: contentOf(relayDoc) }

    const [first] = reports
    const divergent = reports.flatMap((report, index) => (sameState(report, first!) ? [] : [`r${index}`]))
    if (!sameState(relayState, first!)) divergent.push('relay store')
    const stillPending = reports.flatMap((report, index) => (report.pending > 0 ? [`r${index}`] : []))
    const set = checkSet({ attempted, committed, acknowledged }, first!.elements)
    if (elementsOf(relayDoc).length !== first!.elements.length) problems.push('the relay store has other elements')
    if (divergent.length > 0) problems.push(`divergent: ${divergent.join(', ')}`)
    if (stillPending.length > 0) problems.push(`still pending: ${stillPending.join(', ')}`)
    if (set.lost.length > 0) problems.push(`lost acknowledged writes: ${listed(set.lost)}`)
    if (set.lostCommitted.length > 0) problems.push(`lost committed writes: ${listed(set.lostCommitted)}`)
    if (midRun.lostAtRelayStop.size > 0) {
      problems.push(
        `acknowledged writes missing from the relay store after a stop: ${listed([...midRun.lostAtRelayStop])}`,
      )
    }
    if (midRun.lostAtReload.size > 0) {
      problems.push(`committed writes missing after a replica reload: ${listed([...midRun.lostAtReload])}`)
    }
    if (set.unexpected.length > 0) problems.push(`unexpected elements: ${listed(set.unexpected)}`)
    for (const step of schedule) log.push(`  plan: ${describeStep(step)}`)
    return { seed, midRun, set, faults, divergent, stillPending, convergeMs, problems, log }
  } finally {
    await Promise.allSettled([relayWork, ...replicaWork])
    await Promise.all(replicas.map((replica) => replica?.kill()))
    await relay?.stop('SIGKILL')
    await Promise.all(proxies.map((proxy) => proxy.close()))
  }
}
