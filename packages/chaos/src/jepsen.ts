/**
 * Owns one Jepsen-style run of real processes: the relays (one on SQLite, or
 * a cluster on PostgreSQL and Redis), N replica processes each with its own
 * store on disk, stock y-websocket replicas and a hostile writer when the
 * flags say so, a TCP proxy on each replica's link, and the seed's schedule
 * of writes, faults and app lifecycles. At the end everything is healed and
 * left to settle, and the run is checked (`runChecks.ts`).
 */
import { cp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { relayStorePath } from '@concord/relay-service/testing'
import { hostileWriter } from './hostileRun.js'
import { HostileSocket } from './hostileWriter.js'
import { LinkProxy } from './linkProxy.js'
import { newJwtSecret, signToken } from './jwtToken.js'
import { ReplicaProcess } from './replica.js'
import type { ReplicaReport } from './replicaMessages.js'
import { RelayFleet } from './relayFleet.js'
import { finalChecks, noFaults, storeCheck, type JepsenResult, type MidRunChecks } from './runChecks.js'
import { createSchedule, describeStep, documentsOf, hasHostileWriter, type Features, type Step } from './schedule.js'
import { contentOf, stateVectorOf } from './workload.js'
import { WriteLedger } from './writeLedger.js'

export type { FaultCounts, JepsenResult } from './runChecks.js'

export type Sabotage =
  | 'relay-store'
  | 'replica-store'
  | 'relay-acks-early'
  | 'replica-drops-appends'
  | 'replica-syncs-early'
  | 'replica-hides-errors'
  | 'relay-leaks'

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
   * SQLite files at every stop, `replica-store` deletes a crashed replica's store before its restart,
   * `relay-acks-early` runs the relay on a DocStore whose append resolves 300 ms before it commits,
   * `replica-drops-appends` gives replicas a device store that drops every 50th local append while
   * saying it stored it, `replica-syncs-early` has replicas say `whenSynced()` resolved for each
   * write as soon as it is made, `replica-hides-errors` has them keep their client's error events
   * to themselves, and `relay-leaks` (one relay) runs the relay on a DocStore that keeps 128 MiB of
   * memory for every load and append, up to 512 MiB.
   */
  readonly sabotage?: Sabotage | undefined
  /** The faults and actors beyond the first round's. */
  readonly features?: Features | undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const removeSqlite = (path: string) =>
  Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })))

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
    features,
  } = options
  const startedAt = Date.now()
  const log: string[] = []
  const note = (line: string) => {
    log.push(`+${Date.now() - startedAt}ms ${line}`)
    // CHAOS_VERBOSE=1 prints the operation log as it happens, to see where a run hangs.
    if (process.env.CHAOS_VERBOSE) console.error(log.at(-1))
  }
  const faults = noFaults()
  const documents = documentsOf(features)
  const stockCount = features?.stock ?? 0
  const total = count + stockCount
  const ledger = new WriteLedger(total, startedAt)
  const midRun: MidRunChecks = {
    relayStoreChecks: 0,
    lostAtRelayStop: new Set(),
    unreadableAtRelayStop: new Set(),
    syncedButMissingAtStop: new Set(),
    reloadChecks: 0,
    lostAtReload: new Set(),
    authFloodStallMs: 0,
    authFloodCpuMsPerFrame: 0,
    authFloods: 0,
    queuedRetainedBytes: 0,
    termHangs: 0,
  }
  const hostile = hasHostileWriter(seed, features)
  // A hostile writer's auth-frame flood costs what it costs in production only with JWTs to check.
  const jwtSecret = hostile || features?.readers ? newJwtSecret() : undefined
  const token = jwtSecret && signToken(jwtSecret, 'chaos', { 'chaos*': 'write' })
  /** `--readers`: the last native replica may only read, and writes anyway. */
  const reader = features?.readers ? count - 1 : undefined
  const readToken = jwtSecret && signToken(jwtSecret, 'reader', { 'chaos*': 'read' })
  const fleet = await RelayFleet.start({
    workDir,
    relays: features?.relays ?? 1,
    jwtSecret,
    variant: {
      faultyStore: features?.storage === true || sabotage === 'relay-acks-early' || sabotage === 'relay-leaks',
      acksEarly: sabotage === 'relay-acks-early',
    },
    faultsAtEveryStart:
      sabotage === 'relay-leaks' ? [{ kind: 'leaks', bytes: 128 * 2 ** 20, upTo: 512 * 2 ** 20 }] : undefined,
  })
  /** Which relay each replica's link goes to. */
  const relayOf = Array.from({ length: total }, (_, i) => i % fleet.count)
  const proxies = await Promise.all(relayOf.map((relay) => LinkProxy.start(fleet.port(relay)!)))
  const storePathOf = (index: number) => join(workDir, `replica-${index}.sqlite`)
  const replicas: Array<ReplicaProcess | undefined> = Array.from({ length: total }, () => undefined)
  const startReplica = async (index: number): Promise<void> => {
    ledger.restarted(index)
    replicas[index] = await ReplicaProcess.start(
      {
        // With --lifecycles, replica 0 is a pair of tabs sharing one store.
        kind: index >= count ? 'stock' : index === 0 && features?.lifecycles ? 'tabs' : 'native',
        storePath: storePathOf(index),
        url: proxies[index]!.url,
        documents,
        token: index === reader ? readToken : token,
        dropAppends: sabotage === 'replica-drops-appends',
        syncsEarly: sabotage === 'replica-syncs-early',
        hidesErrors: sabotage === 'replica-hides-errors',
      },
      (message) => ledger.heard(index, message),
    )
  }
  /** Points replica `index`'s link at relay `relay` (or the next one running) and makes it reconnect. */
  const move = (index: number, relay: number): void => {
    const running = fleet.running()
    if (running.length === 0) return
    const target = running.includes(relay)
      ? relay
      : running[(running.findIndex((i) => i > relay) + 1) % running.length]!
    relayOf[index] = target
    proxies[index]!.retarget(fleet.port(target)!)
    proxies[index]!.resetConnections()
  }
  // Process restarts run in the background while writes go on; each replica's, and each relay's, in order.
  const relayWork = Array.from({ length: fleet.count }, () => Promise.resolve())
  const replicaWork = Array.from({ length: total }, () => Promise.resolve())
  let sideWork = Promise.resolve()
  const writer = hostile
    ? hostileWriter({ fleet, doc: documents[0]!, token, replicas, note, midRun, faults })
    : undefined

  /** Replicas that stopped answering (a crash, or an event loop stuck), with why. */
  const unresponsive = new Map<number, string>()
  /** A replica's report; a replica that does not answer is killed, set aside and counted as a problem. */
  const reportOf = async (index: number, content: boolean): Promise<ReplicaReport | undefined> => {
    const replica = replicas[index]
    if (!replica) return undefined
    try {
      return await replica.report(content)
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      note(`r${index} stopped answering: ${why.slice(0, 300)}`)
      if (!unresponsive.has(index)) unresponsive.set(index, `r${index}: ${why.slice(0, 600)}`)
      replicas[index] = undefined
      ledger.killed(index)
      await replica.kill()
      return undefined
    }
  }
  /** The reports of every replica still answering (those that stop answering are restarted for the next round). */
  const reportAll = async (content: boolean): Promise<ReplicaReport[]> => {
    const reports = await Promise.all(replicas.map((_, index) => reportOf(index, content)))
    await Promise.all(replicas.map((replica, index) => (replica ? undefined : startReplica(index))))
    return reports.map((report) => report ?? { documents: {} })
  }

  /** At each relay stop: every write acknowledged, or covered by a resolved whenSynced, is in the store. */
  const checkStoreAtStop = async (label: string): Promise<void> => {
    const acknowledged = [...ledger.acknowledged]
    const claimed = [...ledger.syncClaimed].filter((element) => !ledger.acknowledged.has(element))
    const stored = await fleet.readStore(documents)
    const result = storeCheck(stored, acknowledged, claimed)
    midRun.relayStoreChecks++
    for (const element of result.missing) midRun.lostAtRelayStop.add(element)
    for (const element of result.unreadable) midRun.unreadableAtRelayStop.add(element)
    for (const element of result.claimedMissing) midRun.syncedButMissingAtStop.add(element)
    const bad = [...result.missing, ...result.claimedMissing]
    if (bad.length > 0 && !fleet.cluster) {
      await cp(fleet.sqliteDir, join(workDir, `relay-at-stop-${midRun.relayStoreChecks}`), { recursive: true })
    }
    note(
      `store at ${label}: ${acknowledged.length} acknowledged, ${claimed.length} more covered by whenSynced; ` +
        `${result.missing.length} acknowledged missing (${result.unreadable.length} more stored but waiting), ` +
        `${result.claimedMissing.length} covered by whenSynced missing` +
        (bad.length > 0
          ? `: ${bad
              .slice(0, 10)
              .map((e) => `${e} (${ledger.history(e)})`)
              .join('; ')}`
          : ''),
    )
  }

  try {
    await Promise.all(replicas.map((_, index) => startReplica(index)))
    const schedule = createSchedule({ seed, replicas: count, ops, features })
    note(
      `seed ${seed}: ${count} replicas${stockCount > 0 ? ` and ${stockCount} stock` : ''}, ${fleet.count} relay(s), ` +
        `${documents.length} document(s), ${ops} writes, ${schedule.length - ops} other steps` +
        (hostile ? ', a hostile writer' : ''),
    )

    const run = (step: Step): void => {
      switch (step.kind) {
        case 'write': {
          const doc = documents[step.doc]!
          if (step.replica >= count) {
            const replica = replicas[step.replica]
            if (!replica?.alive) return
            ledger.sent(step.replica, doc, step.write.element, true)
            replica.write(doc, step.write)
            return
          }
          // A crashed replica's writes go to the next one that runs, as its user would move on.
          for (let i = 0; i < count; i++) {
            const index = (step.replica + i) % count
            const replica = replicas[index]
            if (!replica?.alive) continue
            ledger.sent(index, doc, step.write.element, false, index === reader)
            replica.write(doc, step.write)
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
            ledger.killed(step.replica)
            await replica.kill()
          })
          return
        case 'restartReplica':
          replicaWork[step.replica] = replicaWork[step.replica]!.then(async () => {
            if (replicas[step.replica]) return
            note(describeStep(step))
            const expected = [...ledger.committedBy[step.replica]!]
            if (sabotage === 'replica-store') await removeSqlite(storePathOf(step.replica))
            await startReplica(step.replica)
            const report = await reportOf(step.replica, true)
            if (!report) return
            const reloaded = new Set(Object.values(report.documents).flatMap((doc) => doc.elements))
            const missing = expected.filter((element) => !reloaded.has(element))
            midRun.reloadChecks++
            for (const element of missing) midRun.lostAtReload.add(element)
            if (missing.length > 0) note(`r${step.replica} reloaded without ${missing.length} committed writes`)
          })
          return
        case 'lifecycle': {
          const replica = replicas[step.replica]
          if (!replica?.alive) return
          note(describeStep(step))
          faults.lifecycles++
          ledger.sent(step.replica, documents[step.doc]!, step.write.element, false, step.replica === reader)
          replica.lifecycle(step.lifecycle, documents[step.doc]!, step.write)
          return
        }
        case 'hostile':
          if (!writer) return
          sideWork = sideWork.then(() => writer.act(step))
          return
        case 'killTab': {
          const replica = replicas[step.replica]
          if (!replica?.alive) return
          note(describeStep(step))
          faults.tabKills++
          // What the killed tab had not stored is lost with it, as with a crashed replica.
          ledger.killed(step.replica)
          ledger.restarted(step.replica)
          replica.killTab(step.tab)
          return
        }
        case 'moveReplica':
          note(describeStep(step))
          faults.moves++
          move(step.replica, step.relay)
          return
        case 'localStoreFault': {
          const replica = replicas[step.replica]
          if (!replica?.alive) return
          note(describeStep(step))
          faults.storage++
          replica.storeFault(step.fault)
          return
        }
        case 'relayStoreFault': {
          const when = fleet.injectStoreFault(step.relay, step.fault)
          if (!when) return
          note(`${describeStep(step)}, ${when}`)
          faults.storage++
          return
        }
        case 'cluster':
          sideWork = sideWork.then(async () => {
            faults.cluster++
            note(await fleet.inject(step))
          })
          return
        case 'stopRelay':
          relayWork[step.relay] = relayWork[step.relay]!.then(async () => {
            if (!fleet.alive(step.relay)) return
            await sleep(fleet.startedAt(step.relay) + minRelayUptimeMs - Date.now())
            note(describeStep(step))
            if (step.signal === 'SIGKILL') faults.relayKills++
            else faults.relayTerms++
            if (!(await fleet.stop(step.relay, step.signal))) {
              midRun.termHangs++
              note(`relay ${step.relay} had not exited 30 s after SIGTERM: SIGKILLed`)
            }
            // Its replicas move on to another relay, as a load balancer would send them.
            if (fleet.cluster)
              for (const [index, relay] of relayOf.entries()) if (relay === step.relay) move(index, relay + 1)
            if (sabotage === 'relay-store' && !fleet.cluster) await removeSqlite(relayStorePath(fleet.sqliteDir))
            // Every ack the harness has heard of was sent before the relay died: it must be in the store.
            await checkStoreAtStop(`${step.signal} of relay ${step.relay}`)
          })
          return
        case 'restartRelay':
          relayWork[step.relay] = relayWork[step.relay]!.then(async () => {
            if (fleet.alive(step.relay)) return
            const port = await fleet.restart(step.relay).catch((error: unknown) => {
              note(`relay ${step.relay} did not start: ${String(error)}`)
              return undefined
            })
            if (port === undefined) return
            note(`${describeStep(step)} on port ${port}`)
            for (const [index, relay] of relayOf.entries()) if (relay === step.relay) proxies[index]!.retarget(port)
          })
          return
      }
    }

    for (const step of schedule) {
      run(step)
      if (step.kind === 'write') await sleep(writeIntervalMs)
    }

    // Heal everything and let it settle.
    await Promise.all([...relayWork, ...replicaWork, sideWork])
    await fleet.healDatabases()
    for (let relay = 0; relay < fleet.count; relay++) await fleet.restart(relay)
    for (const [index, relay] of relayOf.entries()) proxies[index]!.retarget(fleet.port(relay)!)
    for (const proxy of proxies) proxy.heal()
    await Promise.all(replicas.map((replica, index) => (replica ? undefined : startReplica(index))))
    const healedAt = Date.now()
    note('everything healed')

    let reports: ReplicaReport[] = []
    let convergeMs: number | undefined
    // A reader's own edits can never reach the relay: it is left out of the settle.
    const settled = (report: ReplicaReport, index: number, first: ReplicaReport) =>
      index === reader ||
      documents.every((doc) => {
        const mine = report.documents[doc]
        return mine?.pending === 0 && mine.status === 'synced' && mine.stateVector === first.documents[doc]?.stateVector
      })
    while (Date.now() - healedAt < settleTimeoutMs) {
      // The cheap report first; the content only once the state vectors agree.
      const states = await reportAll(false)
      if (states.every((state, index) => settled(state, index, states[0]!))) {
        reports = await reportAll(true)
        const same = reports.every(
          (report, index) =>
            index === reader ||
            documents.every((doc) => report.documents[doc]?.content === reports[0]!.documents[doc]?.content),
        )
        if (same && reports.every((report, index) => settled(report, index, reports[0]!))) {
          convergeMs = Date.now() - healedAt
          break
        }
      }
      await sleep(100)
    }
    note(convergeMs === undefined ? 'did not converge' : `converged in ${convergeMs} ms`)
    if (convergeMs === undefined) reports = await reportAll(true)

    // What each relay serves a fresh reader, while its clients are still connected.
    const relayViews: Array<{
      relay: number
      doc: string
      view: { stateVector: string; content: string } | undefined
    }> = []
    for (const relay of fleet.running()) {
      for (const doc of documents) {
        const socket = new HostileSocket(`ws://127.0.0.1:${fleet.port(relay)}`, doc, token)
        const synced = await socket.whenSynced(10_000)
        relayViews.push({
          relay,
          doc,
          view: synced ? { stateVector: stateVectorOf(socket.mirror), content: contentOf(socket.mirror) } : undefined,
        })
        socket.close()
      }
    }
    await Promise.all(replicas.map((replica) => replica?.stop()))
    // The relays' memory once their clients left, against what it was just after their last start.
    await sleep(1_000)
    const memory = Array.from({ length: fleet.count }, (_, i) => ({ start: fleet.startRss[i], end: fleet.rss(i) }))
    for (const [relay, { start, end }] of memory.entries()) {
      const mib = (bytes: number | undefined) => (bytes === undefined ? '?' : Math.round(bytes / 2 ** 20))
      note(`relay ${relay}'s memory: ${mib(start)} MiB after its last start, ${mib(end)} MiB after its clients left`)
    }
    for (let relay = 0; relay < fleet.count; relay++) {
      if (!(await fleet.stop(relay, 'SIGTERM'))) {
        midRun.termHangs++
        note(`relay ${relay} had not exited 30 s after the final SIGTERM: SIGKILLed`)
      }
    }
    const stored = await fleet.readStore(documents)
    for (const step of schedule) log.push(`  plan: ${describeStep(step)}`)
    return finalChecks({
      seed,
      documents,
      reports,
      stored,
      ledger,
      midRun,
      faults,
      convergeMs,
      settleTimeoutMs,
      memory,
      unresponsive: [...unresponsive.values()],
      reader,
      relayViews,
      log,
    })
  } finally {
    await Promise.allSettled([...relayWork, ...replicaWork, sideWork])
    await Promise.all(replicas.map((replica) => replica?.kill()))
    await fleet.close()
    await Promise.all(proxies.map((proxy) => proxy.close()))
  }
}
