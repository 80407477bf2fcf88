/**
 * Owns a minimal concord.v2 client for tests: one socket, any number of
 * documents, each a Y.Doc whose local updates are sent with sequence numbers
 * and whose acks and refused frames are recorded. It checks the relay's
 * side of the ack rule: a refused frame comes before any ack that would
 * cover it, and never after one. Just enough to test the relay; the real
 * client SDK is @concord/client.
 */
import {
  closeCodes,
  decodeNativeFrame,
  encodeNativeFrame,
  nativeSubprotocol,
  type NativeFrame,
  type NativeSubprotocol,
} from '@concord/protocol'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { waitFor } from './relayHarness.js'

export interface TestDocument {
  readonly doc: Y.Doc
  /** The last sequence number sent, and the highest the relay acknowledged. */
  sentSeq: number
  ackedSeq: number
  /** True once the relay's sync step 2 arrived. */
  synced: boolean
  error: { code: number; reason: string } | undefined
  /** The frames the relay answered with `refused`, by seq. */
  readonly refused: Map<number, { code: number; reason: string }>
}

const fromRelay = Symbol('from the relay')

/** The highest seq up to `seq` that was not refused (0 if none): what an ack must reach to answer them all. */
const lastAckable = (entry: TestDocument, seq: number): number => {
  let last = seq
  while (last > 0 && entry.refused.has(last)) last--
  return last
}

export class NativeTestClient {
  readonly ws: WebSocket
  readonly documents = new Map<string, TestDocument>()
  readonly received: NativeFrame[] = []
  closeEvent: { code: number; reason: string } | undefined

  private constructor(ws: WebSocket, subprotocol: NativeSubprotocol) {
    this.ws = ws
    ws.on('message', (data) => this.#receive(decodeNativeFrame(data as Buffer, subprotocol)))
    ws.on('close', (code, reason) => (this.closeEvent = { code, reason: reason.toString() }))
    ws.on('error', () => {})
  }

  /** Offers `subprotocol` alone (default `concord.v2`), and fails unless the relay selects it. */
  static async connect(url: string, subprotocol: NativeSubprotocol = nativeSubprotocol): Promise<NativeTestClient> {
    const ws = new WebSocket(url, [subprotocol])
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    if (ws.protocol !== subprotocol) throw new Error(`relay chose subprotocol "${ws.protocol}"`)
    return new NativeTestClient(ws, subprotocol)
  }

  open(name: string, doc = new Y.Doc()): TestDocument {
    const entry: TestDocument = { doc, sentSeq: 0, ackedSeq: 0, synced: false, error: undefined, refused: new Map() }
    this.documents.set(name, entry)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === fromRelay) return
      this.send({ type: 'sync', doc: name, seq: ++entry.sentSeq, sync: { type: 'update', update } })
    })
    this.send({ type: 'open', doc: name })
    this.send({ type: 'sync', doc: name, seq: 0, sync: { type: 'step1', stateVector: Y.encodeStateVector(doc) } })
    return entry
  }

  send(frame: NativeFrame): void {
    this.ws.send(encodeNativeFrame(frame))
  }

  async whenSynced(name: string): Promise<void> {
    await waitFor(() => this.documents.get(name)?.synced === true, `"${name}" to sync`)
  }

  /** Resolves once every update sent so far for `name` is acknowledged as durable. */
  async whenAcked(name: string): Promise<void> {
    const entry = this.documents.get(name)!
    const target = entry.sentSeq
    await waitFor(() => entry.ackedSeq >= target, `ack ${target} of "${name}" (acked: ${entry.ackedSeq})`)
  }

  /** Resolves once every frame sent so far for `name` is answered: acknowledged or refused. */
  async whenAnswered(name: string): Promise<void> {
    const entry = this.documents.get(name)!
    const target = entry.sentSeq
    // An ack covers every frame up to it but the refused ones, and refused frames come before it.
    await waitFor(
      () => entry.ackedSeq >= lastAckable(entry, target),
      `an answer to ${target} of "${name}" (acked: ${entry.ackedSeq})`,
    )
  }

  async whenClosed(): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closeEvent !== undefined, 'the relay to close the connection')
    return this.closeEvent!
  }

  close(): void {
    this.ws.close(closeCodes.normal)
  }

  #receive(frame: NativeFrame): void {
    this.received.push(frame)
    const entry = this.documents.get(frame.doc)
    if (!entry) return
    switch (frame.type) {
      case 'sync':
        if (frame.sync.type === 'step1') {
          const update = Y.encodeStateAsUpdate(entry.doc, frame.sync.stateVector)
          this.send({ type: 'sync', doc: frame.doc, seq: ++entry.sentSeq, sync: { type: 'step2', update } })
        } else {
          Y.applyUpdate(entry.doc, frame.sync.update, fromRelay)
          if (frame.sync.type === 'step2') entry.synced = true
        }
        break
      case 'ack':
        if (frame.seq < entry.ackedSeq) throw new Error(`ack went backwards: ${frame.seq} after ${entry.ackedSeq}`)
        entry.ackedSeq = frame.seq
        break
      case 'refused':
        if (frame.seq <= entry.ackedSeq) throw new Error(`refused ${frame.seq} came after ack ${entry.ackedSeq}`)
        entry.refused.set(frame.seq, { code: frame.code, reason: frame.reason })
        break
      case 'error':
        entry.error = { code: frame.code, reason: frame.reason }
        break
      default:
        break
    }
  }
}
