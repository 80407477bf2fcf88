/**
 * Owns a direct connection to a room: a peer inside the relay's process, with
 * no socket, that the HTTP API and server-side documents write and read
 * through. It goes through the same admission, store-then-acknowledge order
 * and forwarding as a client's connection, so neither is a second write path.
 */
import { decodeYWebsocketMessage, ProtocolError, type CloseCodeName, type SyncMessage } from '@concord/protocol'
import { DocumentDeletedError } from './errors.js'
import type { Room, RoomPeer, SyncOutcome } from './room.js'

/** The room could not serve the document (its store failed), or the peer left. */
export class DocumentUnavailableError extends Error {
  override readonly name = 'DocumentUnavailableError'
  constructor(
    readonly code: CloseCodeName,
    message: string,
  ) {
    super(message)
  }
}

export interface DirectPeerEvents {
  /** An update from another peer of the room (or from another relay). */
  readonly update?: (update: Uint8Array) => void
  /**
   * The room's sync step 1, sent when the peer joins (once the document is loaded). Only a peer that
   * listens for it is sent it: the room's state vector can cost a merge of the whole document.
   */
  readonly step1?: (stateVector: Uint8Array) => void
  /** The answer to this peer's sync step 1. */
  readonly step2?: (update: Uint8Array) => void
  /**
   * Given, the answer to a sync step 1 with an empty state vector is what the room holds, unmerged,
   * instead of a step 2: for a reader that merges on a thread of its own (see RoomPeer.unmerged).
   */
  readonly unmerged?: (updates: readonly Uint8Array[]) => void
  /** The room can no longer serve the document; the peer is out of the room. */
  readonly refused?: (error: DocumentUnavailableError) => void
}

export class DirectPeer {
  readonly #room: Room
  readonly #events: DirectPeerEvents
  readonly #peer: RoomPeer
  #left = false
  /** Why the room refused this peer, once it has. */
  #refusal: DocumentUnavailableError | undefined

  /** `by` names the writer to the `onChange` hook. */
  constructor(room: Room, access: 'read' | 'write', by: string, events: DirectPeerEvents) {
    this.#room = room
    this.#events = events
    // The room speaks to a peer in wire frames: y-websocket's are the plainest (no document name, no seq).
    this.#peer = {
      mode: 'y-websocket',
      canWrite: access === 'write',
      by,
      greeted: events.step1 !== undefined,
      send: (frame) => this.#receive(frame),
      ...(events.unmerged && { unmerged: events.unmerged }),
      refuse: (code, reason) => {
        this.#left = true
        this.#refusal = new DocumentUnavailableError(code, reason)
        this.#events.refused?.(this.#refusal)
      },
    }
    room.join(this.#peer)
  }

  get left(): boolean {
    return this.#left
  }

  /**
   * Hands one sync message to the room; resolves once what it carries is
   * durable. Rejects with a ProtocolError (invalid or contradicting update;
   * a write of a read-only peer) or a DocumentUnavailableError (the store
   * failed, or the peer left).
   */
  async send(sync: SyncMessage): Promise<void> {
    if (this.#left) throw this.#refusal ?? new DocumentUnavailableError('documentUnavailable', 'the peer left')
    let outcome: SyncOutcome | undefined
    try {
      outcome = await this.#room.receive(this.#peer, { type: 'sync', sync })
    } catch (error) {
      if (error instanceof ProtocolError) throw error
      // The room says why it stopped serving the document when it refuses its peers.
      if (this.#refusal) throw this.#refusal
      const code = error instanceof DocumentDeletedError ? 'documentDeleted' : 'documentUnavailable'
      throw new DocumentUnavailableError(code, (error as Error).message)
    }
    if (outcome?.kind === 'refused') throw new ProtocolError(outcome.code, outcome.reason)
    if (outcome?.kind === 'dropped') throw new ProtocolError('forbidden', 'read-only: the update was not kept')
    // No outcome: the room stopped serving the document meanwhile, and said why to the peer.
    if (!outcome && this.#refusal) throw this.#refusal
  }

  leave(): void {
    if (this.#left) return
    this.#left = true
    this.#room.leave(this.#peer)
  }

  #receive(frame: Uint8Array): void {
    const message = decodeYWebsocketMessage(frame)
    if (message.type !== 'sync') return
    const { sync } = message
    if (sync.type === 'step1') this.#events.step1?.(sync.stateVector)
    else if (sync.type === 'step2') this.#events.step2?.(sync.update)
    else this.#events.update?.(sync.update)
  }
}
