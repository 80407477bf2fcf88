/**
 * Owns the messages that wait for their room's document to load: each kept
 * with the promise of its outcome, within a cap of messages per peer, of
 * bytes per room and of bytes for the whole relay (QueuedBytes), so that a
 * store that hangs while clients keep sending cannot grow the relay's memory.
 */
import { ProtocolError } from '@concord/protocol'
import type { QueuedBytes } from './queuedBytes.js'
import type { RoomMessage, RoomPeer, SyncOutcome } from './roomPeer.js'

export interface LoadingQueueCaps {
  /** Messages one peer may send while the document loads; one more is refused (4429). */
  readonly maxWaitingFrames: number
  /** Bytes of the messages all peers may send while the document loads; more are refused (4429). */
  readonly maxQueuedBytes: number
  /** The same, for every room of the relay together. */
  readonly relayQueuedBytes: QueuedBytes
}

export interface QueuedMessage {
  readonly peer: RoomPeer
  readonly message: RoomMessage
  /** What it holds in memory, counted against the room's and the relay's caps. */
  readonly bytes: number
  readonly resolve: (outcome: SyncOutcome | undefined) => void
  readonly reject: (error: unknown) => void
}

/** The bytes a message keeps alive while it waits: its payload. */
const payloadBytes = (message: RoomMessage): number => {
  if (message.type === 'queryAwareness') return 0
  if (message.type === 'awareness') return message.update.byteLength
  return message.sync.type === 'step1' ? message.sync.stateVector.byteLength : message.sync.update.byteLength
}

export class LoadingQueue {
  #queued: QueuedMessage[] = []
  /** How many of `#queued` each peer sent. */
  readonly #queuedBy = new Map<RoomPeer, number>()
  /** The bytes of `#queued`, also counted in the relay's QueuedBytes. */
  #queuedBytes = 0

  constructor(
    private readonly name: string,
    private readonly caps: LoadingQueueCaps,
  ) {}

  /** Keeps a message until the document is loaded, within the per-peer, per-room and per-relay caps. */
  add(peer: RoomPeer, message: RoomMessage): Promise<SyncOutcome | undefined> {
    const waiting = this.#queuedBy.get(peer) ?? 0
    if (waiting >= this.caps.maxWaitingFrames) {
      return Promise.reject(new ProtocolError('rateLimited', 'too many messages wait for the document to load'))
    }
    const bytes = payloadBytes(message)
    if (this.#queuedBytes + bytes > this.caps.maxQueuedBytes) {
      const reason = `more than ${this.caps.maxQueuedBytes} bytes wait for this document to load`
      return Promise.reject(new ProtocolError('rateLimited', reason))
    }
    if (!this.caps.relayQueuedBytes.take(bytes)) {
      const reason = `more than ${this.caps.relayQueuedBytes.max} bytes wait for documents to load on this relay`
      return Promise.reject(new ProtocolError('rateLimited', reason))
    }
    this.#queuedBytes += bytes
    this.#queuedBy.set(peer, waiting + 1)
    return new Promise((resolve, reject) => this.#queued.push({ peer, message, bytes, resolve, reject }))
  }

  /** Whether a message of `peer` waits. */
  holds(peer: RoomPeer): boolean {
    return this.#queuedBy.has(peer)
  }

  /** Takes every waiting message, oldest first, freeing their bytes: they are the caller's to settle. */
  takeAll(): QueuedMessage[] {
    const queued = this.#queued
    this.#queued = []
    for (const each of queued) this.#release(each)
    return queued
  }

  /** Takes the messages `which` picks out of the queue, frees their bytes, and rejects them. */
  drop(which: (queued: QueuedMessage) => boolean, reason: string): void {
    const dropped = this.#queued.filter(which)
    this.#queued = this.#queued.filter((queued) => !which(queued))
    for (const queued of dropped) this.#release(queued)
    for (const { reject } of dropped) reject(new Error(`${reason}: message for "${this.name}" dropped`))
  }

  /** Frees the counts a queued message held. */
  #release({ peer, bytes }: QueuedMessage): void {
    this.#queuedBytes -= bytes
    this.caps.relayQueuedBytes.give(bytes)
    const left = (this.#queuedBy.get(peer) ?? 1) - 1
    if (left > 0) this.#queuedBy.set(peer, left)
    else this.#queuedBy.delete(peer)
  }
}
