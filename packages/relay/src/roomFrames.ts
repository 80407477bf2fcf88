/**
 * Owns the frames a room sends its peers, encoded for each wire mode. Each is a Buffer over the
 * encoded bytes (no copy), so that `ws` sends that one Buffer to every socket as it is: a
 * Uint8Array would be wrapped in a new Buffer per socket. The step 2 of the whole state (what
 * every joining peer with an empty state vector gets) is encoded once per merged state and mode
 * and kept, so that a join storm of a large document queues one frame in every socket, not one
 * copy of the document per joiner. It is dropped once no peer asked for it for a while, so that a
 * document that had a join does not keep a second copy of itself.
 */
import { encodeNativeFrame, encodeYWebsocketMessage, type SyncMessage } from '@concord/protocol'
import { bufferView } from './bytes.js'
import type { WireMode } from './wireMode.js'

export type OutgoingMessage =
  { readonly type: 'sync'; readonly sync: SyncMessage } | { readonly type: 'awareness'; readonly update: Uint8Array }

/** `message` as one frame for a peer of `mode` in the room of `doc`. */
export const encodeFor = (mode: WireMode, doc: string, message: OutgoingMessage): Buffer =>
  bufferView(
    mode === 'y-websocket'
      ? encodeYWebsocketMessage(message)
      : encodeNativeFrame(message.type === 'sync' ? { ...message, doc, seq: 0 } : { ...message, doc }),
  )

/** How long the whole state's frames are kept after the last peer asked for them. */
export const wholeStateFramesKeptMs = 2_000

export class WholeStateFrames {
  #state: Uint8Array | undefined
  #frames: Partial<Record<WireMode, Buffer>> = {}
  #expiry: NodeJS.Timeout | undefined

  constructor(private readonly doc: string) {}

  /** The step 2 that carries `state`, the room's whole merged state, for a peer of `mode`. */
  step2(mode: WireMode, state: Uint8Array): Buffer {
    if (state !== this.#state) {
      this.#state = state
      this.#frames = {}
    }
    clearTimeout(this.#expiry)
    this.#expiry = setTimeout(() => this.clear(), wholeStateFramesKeptMs)
    this.#expiry.unref()
    return (this.#frames[mode] ??= encodeFor(mode, this.doc, { type: 'sync', sync: { type: 'step2', update: state } }))
  }

  /** Forgets the frames. */
  clear(): void {
    clearTimeout(this.#expiry)
    this.#state = undefined
    this.#frames = {}
  }
}
