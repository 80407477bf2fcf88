/**
 * The entry point `@concord/client/y-websocket`: the wire for a stock
 * y-websocket server (or a Concord relay without its native protocol),
 * `createClient({ url, wire: yWebsocketWire() })`. An app that does not import
 * it does not ship it.
 *
 * One document per socket, at `url/<id>` as stock providers use, so frames
 * name no document; there is no `open`/`close`, no ping, and no ack: an update
 * stops being pending once it was written to an open socket, which says
 * nothing about whether the server stored it. "Permission denied" arrives as
 * an `error` frame with code `forbidden`.
 */
import { closeCodes } from '@concord/protocol/core'
import { decodeYWebsocketMessage, encodeYWebsocketMessage } from '@concord/protocol/y-websocket'
import type { PerDocumentWire, Wire } from './wire.js'

export type { PerDocumentWire } from './wire.js'

/** The frames of a socket that carries document `doc`. */
const framesOf = (doc: string): Wire => ({
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

/** The wire of a socket per document, for a y-websocket server; give it to `createClient` as `wire`. */
export const yWebsocketWire = (): PerDocumentWire => ({
  url: (url, doc) => `${url.replace(/\/$/, '')}/${doc}`,
  frames: framesOf,
  // The server sends no acks: each sync frame counts as acknowledged once written to an open
  // socket, so `pending` counts what has not reached the network.
  link: (connection, deliver) => ({
    get status() {
      return connection.status
    },
    serverSpeaksFirst: true,
    send(frame) {
      const sent = connection.send(frame)
      if (sent && frame.type === 'sync' && frame.seq > 0) {
        queueMicrotask(() => deliver({ type: 'ack', doc: frame.doc, seq: frame.seq }))
      }
      return sent
    },
  }),
})
