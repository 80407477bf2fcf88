/**
 * Owns the names of the relay's two wire modes, as peers, sockets, log lines
 * and metrics labels carry them: `y-websocket` (no subprotocol, one document
 * per socket) and `native` (the subprotocols `concord.v2` and `concord.v3`, see
 * @concord/protocol). The mode is named `native` everywhere; `concord.v2` is
 * only the string on the wire, which changes with each protocol version.
 */
import { isNativeSubprotocol } from '@concord/protocol'

export type WireMode = 'y-websocket' | 'native'

/** The mode of a socket whose upgrade selected `subprotocol` (ws's `protocol`: empty when none was). */
export const wireModeOf = (subprotocol: string): WireMode =>
  isNativeSubprotocol(subprotocol) ? 'native' : 'y-websocket'
