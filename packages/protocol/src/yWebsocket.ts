/**
 * Owns the y-websocket wire mode: one document per socket, named by the URL
 * path, each binary frame `varuint messageType · body` exactly as y-websocket
 * and y-protocols write them. Stock `WebsocketProvider`s speak this.
 * Also the entry point `@concord/protocol/y-websocket`, which reaches no history code.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ProtocolError } from './errors.js'
import { decodeWhole, readBoundedVarUint } from './strictDecoding.js'
import { readSyncMessage, writeSyncMessage, type SyncMessage } from './sync.js'

/** The `messageType` numbers of y-websocket frames (y-websocket's own `messageSync`, `messageAwareness`, ...). */
export const yWebsocketMessageType = {
  sync: 0,
  awareness: 1,
  /** y-protocols/auth: the only sub-message is "permission denied", relay to client. */
  auth: 2,
  queryAwareness: 3,
} as const

const permissionDenied = 0

export type YWebsocketMessage =
  | { readonly type: 'sync'; readonly sync: SyncMessage }
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'permissionDenied'; readonly reason: string }
  | { readonly type: 'queryAwareness' }

export const decodeYWebsocketMessage = (bytes: Uint8Array): YWebsocketMessage =>
  decodeWhole(bytes, 'y-websocket message', (decoder) => {
    switch (readBoundedVarUint(decoder, yWebsocketMessageType.queryAwareness, 'message type')) {
      case yWebsocketMessageType.sync:
        return { type: 'sync', sync: readSyncMessage(decoder) }
      case yWebsocketMessageType.awareness:
        return { type: 'awareness', update: decoding.readVarUint8Array(decoder) }
      case yWebsocketMessageType.auth: {
        const authType = decoding.readVarUint(decoder)
        if (authType !== permissionDenied)
          throw new ProtocolError('malformedMessage', `unknown auth message ${authType}`)
        return { type: 'permissionDenied', reason: decoding.readVarString(decoder) }
      }
      default:
        return { type: 'queryAwareness' }
    }
  })

export const encodeYWebsocketMessage = (message: YWebsocketMessage): Uint8Array => {
  const encoder = encoding.createEncoder()
  switch (message.type) {
    case 'sync':
      encoding.writeVarUint(encoder, yWebsocketMessageType.sync)
      writeSyncMessage(encoder, message.sync)
      break
    case 'awareness':
      encoding.writeVarUint(encoder, yWebsocketMessageType.awareness)
      encoding.writeVarUint8Array(encoder, message.update)
      break
    case 'permissionDenied':
      encoding.writeVarUint(encoder, yWebsocketMessageType.auth)
      encoding.writeVarUint(encoder, permissionDenied)
      encoding.writeVarString(encoder, message.reason)
      break
    case 'queryAwareness':
      encoding.writeVarUint(encoder, yWebsocketMessageType.queryAwareness)
      break
  }
  return encoding.toUint8Array(encoder)
}
