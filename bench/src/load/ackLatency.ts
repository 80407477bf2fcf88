/**
 * Scenario 4, durable ack latency (Concord only: the peers do not acknowledge).
 * Native concord.v2 connections, one document each, send numbered sync
 * updates at a fixed total rate; each update's latency is the time from its
 * send to the first ack that covers its sequence number ("committed up to N").
 */
import { decodeNativeFrame, encodeNativeFrame, nativeSubprotocol } from '@concord/protocol'
import type { WebSocket } from 'ws'
import * as Y from 'yjs'
import { summarize, type LatencySummary } from '../percentiles.js'
import { coresUsed, sampleProcess } from '../processSample.js'
import { openSocket, sleep } from '../wire.js'

export interface AckLatencyTask {
  readonly url: string
  readonly serverPid: number
  readonly connections: number
  /** Updates per second, all connections together. */
  readonly ratePerSecond: number
  readonly durationMs: number
}

export interface AckLatencyResult {
  readonly sent: number
  readonly acked: number
  readonly achievedRate: number
  readonly latencyMs: LatencySummary
  readonly serverCores: number
}

class Writer {
  readonly ydoc = new Y.Doc()
  readonly text = this.ydoc.getText('t')
  readonly sentAt: number[] = [0]
  acked = 0
  #lastUpdate: Uint8Array | undefined
  #onAck: ((seq: number) => void) | undefined

  constructor(
    readonly socket: WebSocket,
    readonly doc: string,
    samples: number[],
  ) {
    this.ydoc.on('update', (update: Uint8Array) => (this.#lastUpdate = update))
    socket.on('message', (data: Buffer) => {
      const frame = decodeNativeFrame(data)
      if (frame.type !== 'ack') return
      const now = performance.now()
      for (let seq = this.acked + 1; seq <= frame.seq; seq++) {
        const sentAt = this.sentAt[seq]
        if (sentAt !== undefined && sentAt > 0) samples.push(now - sentAt)
      }
      this.acked = Math.max(this.acked, frame.seq)
      this.#onAck?.(frame.seq)
    })
  }

  /** Opens the document and waits until the relay acknowledges a first frame (the document is loaded). */
  async open(): Promise<void> {
    this.socket.send(encodeNativeFrame({ type: 'open', doc: this.doc }))
    const acked = new Promise<void>((resolve) => (this.#onAck = () => resolve()))
    this.socket.send(
      encodeNativeFrame({
        type: 'sync',
        doc: this.doc,
        seq: 1,
        sync: { type: 'step1', stateVector: new Uint8Array([0]) },
      }),
    )
    this.sentAt.push(0) // seq 1: the step 1, not timed
    await acked
    this.#onAck = undefined
  }

  sendUpdate(): void {
    this.text.insert(this.text.length, 'abcdefgh')
    const seq = this.sentAt.length
    this.sentAt.push(performance.now())
    this.socket.send(
      encodeNativeFrame({ type: 'sync', doc: this.doc, seq, sync: { type: 'update', update: this.#lastUpdate! } }),
    )
  }
}

export const runAckLatency = async (task: AckLatencyTask): Promise<AckLatencyResult> => {
  const samples: number[] = []
  const writers: Writer[] = []
  for (let i = 0; i < task.connections; i++) {
    const writer = new Writer(await openSocket(task.url, nativeSubprotocol), `bench-ack-${i}`, samples)
    await writer.open()
    writers.push(writer)
  }
  const before = sampleProcess(task.serverPid)
  const startedAt = performance.now()
  let sent = 0
  // Paced by the clock, not by timer counts: each tick sends what is due so far.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - startedAt
      const due = Math.min(
        Math.floor((elapsed * task.ratePerSecond) / 1000),
        (task.durationMs * task.ratePerSecond) / 1000,
      )
      for (; sent < due; sent++) writers[sent % writers.length]!.sendUpdate()
      if (elapsed >= task.durationMs) {
        clearInterval(tick)
        resolve()
      }
    }, 1)
  })
  const sendMs = performance.now() - startedAt
  for (let waited = 0; waited < 10_000 && writers.some((w) => w.acked < w.sentAt.length - 1); waited += 20)
    await sleep(20)
  const after = sampleProcess(task.serverPid)
  for (const writer of writers) writer.socket.terminate()
  return {
    sent,
    acked: samples.length,
    achievedRate: (sent * 1000) / sendMs,
    latencyMs: summarize(samples),
    serverCores: coresUsed(before, after),
  }
}
