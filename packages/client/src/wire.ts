/**
 * Owns how frames look on the socket in each wire mode. The client thinks in
 * native frames; a Wire turns them into bytes and back.
 *
 * - native (`concord.v3`, or `concord.v2` from a relay without history requests): every frame
 *   as it is.
 * - y-websocket: one document per socket, so frames name no document; there
 *   is no `open`/`close`, no ack and no ping, and "permission denied" arrives
 *   as an `error` frame with code `forbidden`.
 */
import {
  closeCodes,
  decodeNativeFrame,
  decodeYWebsocketMessage,
  encodeNativeFrame,
  encodeYWebsocketMessage,
  isNativeSubprotocol,
  nativeSubprotocol,
  nativeSubprotocols,
  type NativeFrame,
} from '@concord/protocol'

export interface Wire {
  /** The subprotocols to offer, preferred first, one of which the server must select; empty to ask for none. */
  readonly subprotocols: readonly string[]
  /** Whether `ping` frames exist on this wire; without them the heartbeat can only watch for silence. */
  readonly canPing: boolean
  /** Where the token goes: an `auth` frame first thing on the socket, or the `token` query parameter. */
  readonly tokenIn: 'frame' | 'query'
  /** The bytes of `frame`, or undefined when this wire has no such frame (nothing is sent). */
  encode(frame: NativeFrame): Uint8Array | undefined
  /** The frame that `bytes` carry, on a socket that selected `subprotocol`. Throws a ProtocolError when they do not decode. */
  decode(bytes: Uint8Array, subprotocol: string): NativeFrame
}

export const nativeWire: Wire = {
  subprotocols: nativeSubprotocols,
  canPing: true,
  tokenIn: 'frame',
  encode: encodeNativeFrame,
  decode: (bytes, subprotocol) =>
    decodeNativeFrame(bytes, isNativeSubprotocol(subprotocol) ? subprotocol : nativeSubprotocol),
}

/** The y-websocket wire of a socket that carries document `doc`. */
export const yWebsocketWire = (doc: string): Wire => ({
  subprotocols: [],
  canPing: false,
  tokenIn: 'query',
  encode: (frame) => {
    switch (frame.type) {
      case 'sync':
        return encodeYWebsocketMessage({ type: 'sync', sync: frame.sync })
      case 'awareness':
        return encodeYWebsocketMessage({ type: 'awareness', update: frame.update })
      case 'queryAwareness':
        return encodeYWebsocketMessage({ type: 'queryAwareness' })
      default:
        return undefined
    }
  },
  decode: (bytes) => {
    const message = decodeYWebsocketMessage(bytes)
    switch (message.type) {
      case 'sync':
        return { type: 'sync', doc, seq: 0, sync: message.sync }
      case 'awareness':
        return { type: 'awareness', doc, update: message.update }
      case 'queryAwareness':
        return { type: 'queryAwareness', doc }
      case 'permissionDenied':
        return { type: 'error', doc, code: closeCodes.forbidden, reason: message.reason }
    }
  },
})
