/**
 * Scenario 1, fan-out: K clients in D documents, each with a Y.Doc of its own
 * that makes small text inserts and sends each as a y-websocket sync update.
 * Every delivery to another client of the document is timed against the
 * update's send time (matched by the update's client:clock). Phases: a
 * warm-up at the first rate (not measured), fixed rates (latency and CPU per
 * update at known loads), then a closed loop where each client keeps `window`
 * updates in flight (throughput at saturation).
 */
import * as Y from 'yjs'
import { summarize, type LatencySummary } from '../percentiles.js'
import { coresUsed, sampleProcess, type ProcessSample } from '../processSample.js'
import { emptySyncStep1, openDocSocket, sleep, updateFrame, updateIdOf, type Dialect, type DocSocket } from '../wire.js'

export interface FanoutTask {
  readonly url: string
  readonly dialect: Dialect
  readonly serverPid: number
  /**
   * More relays of one cluster: the clients of each document are spread over
   * `url` and these in turn, and the CPU and RSS are those of all of them.
   */
  readonly more?: ReadonlyArray<{ readonly url: string; readonly serverPid: number }>
  /** Before each document's name: two runs on one store must not share documents. */
  readonly docPrefix?: string
  readonly clients: number
  readonly docs: number
  /** Updates per second in all (spread over the clients), one fixed-rate phase each. */
  readonly rates: readonly number[]
  readonly rateMs: number
  /** A fixed-rate phase at the first rate, not measured, before the others (see Profile); 0 for none. */
  readonly warmupMs?: number
  /** Updates in flight per client in the saturation phase. */
  readonly window: number
  readonly saturateMs: number
}

export interface PhaseResult {
  readonly sent: number
  /** Deliveries to other clients of the document while the phase ran. */
  readonly delivered: number
  readonly deliveredPerSecond: number
  /** Deliveries still missing once the phase drained (lost or too slow). */
  readonly undelivered: number
  readonly latencyMs: LatencySummary
  /** With `more` relays: the deliveries from a client of one relay to a client of another. */
  readonly crossRelayLatencyMs?: LatencySummary
  readonly serverCores: number
  /** The server's CPU time over the phase (user + system). */
  readonly serverCpuMs: number
  readonly durationMs: number
  readonly serverRssBytes: number
}

export interface FixedRateResult extends PhaseResult {
  /** Updates per second asked for. */
  readonly targetRate: number
}

export interface FanoutResult {
  readonly fixed: FixedRateResult[]
  readonly saturate: PhaseResult
  /** Frames a client got back for its own updates (the stock y-websocket server echoes). */
  readonly echoes: number
}

interface InFlight {
  readonly sentAt: number
  readonly sender: Client
  remaining: number
}

class Client {
  readonly doc = new Y.Doc()
  readonly text = this.doc.getText('t')
  inFlight = 0
  #lastUpdate: Uint8Array | undefined

  constructor(
    readonly socket: DocSocket,
    readonly peers: number,
    /** Which relay of `url` and `more` it is connected to. */
    readonly relay: number,
  ) {
    this.doc.on('update', (update: Uint8Array) => (this.#lastUpdate = update))
  }

  /** Makes one small insert and returns the update it produced. */
  edit(): Uint8Array {
    this.text.insert(this.text.length, 'abcdefgh')
    return this.#lastUpdate!
  }
}

export const runFanout = async (task: FanoutTask): Promise<FanoutResult> => {
  const inFlight = new Map<string, InFlight>()
  let phase = { sent: 0, delivered: 0, samples: [] as number[], cross: [] as number[], counting: false }
  const relays = [{ url: task.url, serverPid: task.serverPid }, ...(task.more ?? [])]
  const sample = (): ProcessSample => {
    const each = relays.map((relay) => sampleProcess(relay.serverPid))
    return {
      cpuMs: each.reduce((sum, one) => sum + one.cpuMs, 0),
      rssBytes: each.reduce((sum, one) => sum + one.rssBytes, 0),
      peakRssBytes: each.reduce((sum, one) => sum + one.peakRssBytes, 0),
      atMs: each[0]!.atMs,
    }
  }
  let onComplete: ((client: Client) => void) | undefined
  let echoes = 0
  const perDoc = Math.ceil(task.clients / task.docs)

  const clients: Client[] = []
  for (let i = 0; i < task.clients; i++) {
    const doc = i % task.docs
    // The clients of one document take the relays in turn.
    const relay = Math.floor(i / task.docs) % relays.length
    const socket = await openDocSocket(relays[relay]!.url, `bench-fanout-${task.docPrefix ?? ''}${doc}`, task.dialect)
    const client = new Client(socket, Math.min(perDoc, Math.ceil((task.clients - doc) / task.docs)) - 1, relay)
    clients.push(client)
    socket.onFrame((data) => {
      const id = updateIdOf(data)
      if (id === undefined) return
      const entry = inFlight.get(id)
      if (!entry) return
      if (entry.sender === client) {
        echoes++
        return
      }
      const latency = performance.now() - entry.sentAt
      phase.samples.push(latency)
      if (entry.sender.relay !== client.relay) phase.cross.push(latency)
      if (phase.counting) phase.delivered++
      if (--entry.remaining === 0) {
        inFlight.delete(id)
        entry.sender.inFlight--
        onComplete?.(entry.sender)
      }
    })
    socket.send(emptySyncStep1)
  }
  await sleep(1000)

  const send = (client: Client): void => {
    const update = client.edit()
    const frame = updateFrame(update)
    if (client.peers > 0) {
      inFlight.set(updateIdOf(frame)!, { sentAt: performance.now(), sender: client, remaining: client.peers })
      client.inFlight++
    }
    client.socket.send(frame)
    phase.sent++
  }

  const runPhase = async (durationMs: number, start: () => () => void): Promise<PhaseResult> => {
    phase = { sent: 0, delivered: 0, samples: [], cross: [], counting: true }
    const before = sample()
    const stop = start()
    await sleep(durationMs)
    stop()
    phase.counting = false
    const after = sample()
    // Drain: let what is in flight arrive (its latency counts), for at most 10 s.
    for (let waited = 0; inFlight.size > 0 && waited < 10_000; waited += 50) await sleep(50)
    let undelivered = 0
    for (const entry of inFlight.values()) undelivered += entry.remaining
    inFlight.clear()
    for (const client of clients) client.inFlight = 0
    return {
      sent: phase.sent,
      delivered: phase.delivered,
      deliveredPerSecond: (phase.delivered * 1000) / (after.atMs - before.atMs),
      undelivered,
      latencyMs: summarize(phase.samples),
      ...(relays.length > 1 ? { crossRelayLatencyMs: summarize(phase.cross) } : {}),
      serverCores: coresUsed(before, after),
      serverCpuMs: after.cpuMs - before.cpuMs,
      durationMs: after.atMs - before.atMs,
      serverRssBytes: after.rssBytes,
    }
  }
  const atRate = (targetRate: number) => (): (() => void) => {
    const intervalMs = (1000 * clients.length) / targetRate
    const timers = clients.map((client) => {
      let timer: NodeJS.Timeout | undefined
      const first = setTimeout(() => {
        // A client far behind (over 1,000 in flight) skips a beat rather than pile up.
        timer = setInterval(() => client.inFlight < 1000 && send(client), intervalMs)
      }, Math.random() * intervalMs)
      return () => {
        clearTimeout(first)
        clearInterval(timer)
      }
    })
    return () => timers.forEach((stop) => stop())
  }
  const firstRate = task.rates[0]
  if (task.warmupMs && firstRate !== undefined) {
    await runPhase(task.warmupMs, atRate(firstRate))
    await sleep(500)
  }
  const fixed: FixedRateResult[] = []
  for (const targetRate of task.rates) {
    const phase = await runPhase(task.rateMs, atRate(targetRate))
    fixed.push({ ...phase, targetRate })
    await sleep(500)
  }

  const saturate = await runPhase(task.saturateMs, () => {
    let running = true
    const pump = (client: Client): void => {
      while (running && client.inFlight < task.window && client.peers > 0) send(client)
    }
    onComplete = pump
    for (const client of clients) pump(client)
    return () => {
      running = false
      onComplete = undefined
    }
  })

  for (const client of clients) client.socket.terminate()
  return { fixed, saturate, echoes }
}
