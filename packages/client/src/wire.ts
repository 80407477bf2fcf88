/**
 * Owns how frames look on the socket. The client thinks in native frames; a
 * Wire turns them into bytes and back. This is the native one (`concord.v3`,
 * or `concord.v2` from a relay without history requests): every frame as it
 * is, but the history frames, whose codec `@concord/client/history` brings
 * (`history` below) when an app first uses it. The y-websocket wire is
 * yWebsocket.ts's (`@concord/client/y-websocket`).
 */
import {
  decodeNativeFrameWith,
  encodeNativeFrameWith,
  isNativeSubprotocol,
  nativeSubprotocol,
  nativeSubprotocols,
  type HistoryFrameCodec,
  type NativeFrame,
} from '@concord/protocol/core'
import type { RelayLink } from './docSync.js'

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

/** The native wire; its history frames need `history`, which stays unset until history is used. */
export interface NativeWire extends Wire {
  history: HistoryFrameCodec | undefined
}

export const nativeWire = (): NativeWire => {
  const wire: NativeWire = {
    subprotocols: nativeSubprotocols,
    canPing: true,
    tokenIn: 'frame',
    history: undefined,
    encode: (frame) => encodeNativeFrameWith(frame, wire.history),
    decode: (bytes, subprotocol) =>
      decodeNativeFrameWith(bytes, isNativeSubprotocol(subprotocol) ? subprotocol : nativeSubprotocol, wire.history),
  }
  return wire
}

/**
 * A wire of a socket per document, as `yWebsocketWire()` of `@concord/client/y-websocket`:
 * given to `createClient` as `wire`, it replaces the native protocol's one shared socket.
 */
export interface PerDocumentWire {
  /** The address of document `doc`'s socket on the relay at `url`. */
  url(url: string, doc: string): string
  /** How the frames of document `doc` look on its socket. */
  frames(doc: string): Wire
  /**
   * The link the document's sync uses over its socket; `deliver` takes the frames the link
   * makes up itself (the acks of a wire whose server sends none).
   */
  link(connection: Pick<RelayLink, 'status' | 'send'>, deliver: (frame: NativeFrame) => void): RelayLink
}
