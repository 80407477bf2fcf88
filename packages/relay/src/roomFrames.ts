/**
 * Owns the frames a room sends its peers, encoded for each wire mode. Each is a Buffer over the
 * encoded bytes (no copy), so that `ws` sends that one Buffer to every socket as it is: a
 * Uint8Array would be wrapped in a new Buffer per socket. The step 2 of the whole state (what
 * every joining peer with an empty state vector gets) is encoded once per merged state and mode
 * and kept, so that a join storm of a large document queues one frame in every socket, not one
 * copy of the document per joiner. It is dropped once no peer asked for it for a while, so that a
 * document that had a join does not keep a second copy of itself.
 */
import {
  encodeNativeFrame,
  encodeYWebsocketMessage,
  syncMessageType,
  yWebsocketMessageType,
  type SyncMessage,
} from '@concord/protocol'
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

/**
 * `received`, the y-websocket frame an update came in, as the frame that forwards `update` to the
 * y-websocket peers, when encoding `update` again would give exactly its bytes: a sync update
 * message, the length in its shortest form, then `update` and nothing after it. Undefined
 * otherwise (admission kept only part of it, or it came as a step 2). Re-encoding each update was
 * an encoder, a copy and a Buffer per update on the hot path.
 */
export const forwardableFrame = (received: Uint8Array | undefined, update: Uint8Array): Buffer | undefined => {
  if (received?.[0] !== yWebsocketMessageType.sync || received[1] !== syncMessageType.update) return undefined
  // The length as lib0's writeVarUint writes it: 7 bits a byte, low bits first.
  let rest = update.byteLength
  let at = 2
  for (; rest > 0x7f; rest = Math.floor(rest / 0x80)) if (received[at++] !== (0x80 | (rest & 0x7f))) return undefined
  if (received[at++] !== rest || received.byteLength !== at + update.byteLength) return undefined
  const frame = Buffer.isBuffer(received) ? received : bufferView(received)
  return Buffer.compare(frame.subarray(at), update) === 0 ? frame : undefined
}

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
