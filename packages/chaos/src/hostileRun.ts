/**
 * Owns the hostile writer's part in a run: it runs each scheduled hostile
 * action against the relays that are up, aims clock squatting at the live
 * replica the seed names, and during an auth-frame flood reads the relay's
 * CPU time before and after (the figure authFloodCheck.ts judges) and times
 * its /healthz meanwhile (reported; it fails a run only when wedged).
 */
import { request } from 'node:http'
import { authFloodWedgedMs } from './authFloodCheck.js'
import { authFloodSize, HostileWriter } from './hostileWriter.js'
import type { ReplicaProcess } from './replica.js'
import type { RelayFleet } from './relayFleet.js'
import type { FaultCounts, MidRunChecks } from './runChecks.js'
import { describeStep, type Step } from './schedule.js'

export interface HostileRunOptions {
  readonly fleet: RelayFleet
  readonly doc: string
  readonly token: string | undefined
  readonly replicas: ReadonlyArray<ReplicaProcess | undefined>
  readonly note: (line: string) => void
  readonly midRun: MidRunChecks
  readonly faults: FaultCounts
}

/** How long GET /healthz takes, at most `timeoutMs`. */
const healthzMs = (port: number, timeoutMs: number): Promise<number> =>
  new Promise((resolve) => {
    const started = Date.now()
    const done = () => resolve(Date.now() - started)
    const call = request({ host: '127.0.0.1', port, path: '/healthz', timeout: timeoutMs }, (response) => {
      response.resume()
      response.on('end', done)
    })
    call.on('timeout', () => call.destroy())
    call.on('error', done)
    call.end()
  })

/** The slowest /healthz answer while `work` runs, and one second after; `probed` runs after each answer. */
const slowestAnswerDuring = async (port: number, work: Promise<unknown>, probed: () => void): Promise<number> => {
  let slowest = 0
  let running = true
  void work.finally(() => setTimeout(() => (running = false), 1_000))
  while (running) {
    slowest = Math.max(slowest, await healthzMs(port, authFloodWedgedMs))
    probed()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return slowest
}

export const hostileWriter = ({ fleet, doc, token, replicas, note, midRun, faults }: HostileRunOptions) => {
  const writer = new HostileWriter({
    doc,
    token,
    urls: () => fleet.running().map((relay) => `ws://127.0.0.1:${fleet.port(relay)}`),
  })
  return {
    async act(step: Extract<Step, { kind: 'hostile' }>): Promise<void> {
      faults.hostile++
      let victim: number | undefined
      if (step.action === 'squat') {
        const report = await replicas[step.victim]?.report(false).catch(() => undefined)
        victim = report?.documents[doc]?.clientId
      }
      const relay = fleet.running()[0] ?? 0
      const port = fleet.port(relay)
      if (step.action === 'queueFlood') {
        // The flood's documents load slowly: the relay's store stalls their loads (`--storage` only).
        if (fleet.injectStoreFault(relay, { kind: 'loadStalls', times: 3, ms: 2_500 }) !== 'now') {
          note(`${describeStep(step)}: skipped, the relay has no faulty store`)
          return
        }
        const before = fleet.rss(relay)
        const line = await writer.run(step.action, step.seed, undefined).catch((error: unknown) => String(error))
        // Once the peer left and the loads ended, what it queued must be freed.
        await new Promise((resolve) => setTimeout(resolve, 3_000))
        const after = fleet.rss(relay)
        const grown = before !== undefined && after !== undefined ? after - before : 0
        midRun.queuedRetainedBytes = Math.max(midRun.queuedRetainedBytes, grown)
        note(`${describeStep(step)}: ${line}; relay ${relay} memory ${Math.round(grown / 2 ** 20)} MiB above before`)
        return
      }
      const before = step.action === 'authFlood' ? fleet.cpu(relay) : undefined
      const action = writer.run(step.action, step.seed, victim).catch((error: unknown) => `failed: ${String(error)}`)
      if (step.action === 'authFlood' && port !== undefined) {
        // The relay's CPU time at each /healthz answer, while it is the process it was at the start.
        let last = before
        let stopped = false
        const sample = () => {
          const now = fleet.cpu(relay)
          if (now && now.pid === before?.pid && !stopped) last = now
          else stopped = true
        }
        const slowest = await slowestAnswerDuring(port, action, sample)
        sample()
        midRun.authFloodStallMs = Math.max(midRun.authFloodStallMs, slowest)
        let cost = 'relay CPU time not read'
        if (before && last) {
          // A relay the schedule stopped meanwhile is charged to its last answer, per frame of the whole
          // flood: a lower bound, yet the bug's cost per frame is so much larger that a part shows it.
          const { frames } = authFloodSize(step.seed)
          const perFrame = (last.ms - before.ms) / frames
          midRun.authFloodCpuMsPerFrame = Math.max(midRun.authFloodCpuMsPerFrame, perFrame)
          midRun.authFloods++
          cost =
            `relay ${relay} CPU ${last.ms - before.ms} ms, ${perFrame.toFixed(2)} ms per auth frame` +
            (stopped ? ' (until it stopped, during the flood)' : '')
        }
        note(`${describeStep(step)}: ${await action}; ${cost}; /healthz answered within ${slowest} ms`)
        return
      }
      note(`${describeStep(step)}: ${await action}`)
    },
  }
}
