/**
 * Owns a connection in y-websocket mode: one document, named by the URL path,
 * frames as y-websocket writes them, and the access granted when it
 * connected. No acks: stock clients have no way to read them, nor a refused
 * frame, so a dropped write is told with y-protocols' "permission denied"
 * and a refused one closes the connection (4422). Instead of acks, with
 * `echoCommitted`, each update the client sends comes back to it once it is
 * durable: stock providers (y-websocket 3.1 release candidates, @y/websocket
 * 4) count a local update as saved when its content ids come back.
 */
import { decodeYWebsocketMessage, encodeYWebsocketMessage, ProtocolError } from '@concord/protocol'
import type { Access } from './auth.js'
import type { RelaySocket } from './relaySocket.js'
import type { Room, RoomPeer, SyncOutcome } from './room.js'

export class YWebsocketConnection {
  readonly #peer: RoomPeer
  #toldReadOnly = false
  /**
   * The frame each update came in, until it is durable: the echo is that
   * frame's bytes again (a sync update frame is nothing but the update after
   * two bytes and its length), so it need not be encoded anew.
   */
  readonly #frames: WeakMap<Uint8Array, Uint8Array> | undefined

  constructor(
    private readonly socket: RelaySocket,
    private readonly room: Room,
    access: Access,
    subject: string | undefined,
    echoCommitted: boolean,
  ) {
    this.#frames = echoCommitted ? new WeakMap() : undefined
    this.#peer = {
      mode: 'y-websocket',
      canWrite: access === 'write',
      by: subject,
      send: (frame) => socket.send(frame),
      probe: () => socket.probe(),
      refuse: (code, reason) => socket.close(code, reason),
      ...(echoCommitted && {
        committed: (update: Uint8Array) => {
          // An empty update (a step 2 from a client with nothing to add) has no content to confirm.
          if (update.byteLength === 2 && update[0] === 0 && update[1] === 0) return
          // As an update, not a step 2: a step 2 would also tell the provider it has synced.
          socket.send(
            this.#frames?.get(update) ?? encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }),
          )
        },
      }),
    }
    room.join(this.#peer)
  }

  /** Throws a ProtocolError for a frame that is malformed or invalid. */
  receive(bytes: Uint8Array): void {
    const message = decodeYWebsocketMessage(bytes)
    if (message.type === 'sync' && message.sync.type === 'update') this.#frames?.set(message.sync.update, bytes)
    if (message.type === 'permissionDenied') {
      throw new ProtocolError('malformedMessage', 'auth messages are sent by the relay only')
    }
    this.room.receive(this.#peer, message)?.then(
      (outcome) => outcome && this.#settled(outcome),
      (error: unknown) => this.#failed(error),
    )
  }

  closed(): void {
    this.room.leave(this.#peer)
  }

  #settled(outcome: SyncOutcome): void {
    if (outcome.kind === 'refused') {
      this.socket.close(outcome.code, outcome.reason)
    } else if (outcome.kind === 'dropped' && !this.#toldReadOnly) {
      // Once: y-protocols' "permission denied" is the only refusal a stock provider understands.
      this.#toldReadOnly = true
      this.socket.send(
        encodeYWebsocketMessage({ type: 'permissionDenied', reason: 'read-only: your changes are not kept' }),
      )
    }
  }

  #failed(error: unknown): void {
    // Anything else is a store failure, and the room has refused this peer already.
    if (error instanceof ProtocolError) this.socket.close(error.code, error.message)
  }
}
