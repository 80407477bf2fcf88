/**
 * Owns what the load generator reads and writes on a document's socket: the
 * y-websocket frames it sends (sync step 1, updates), the few bytes it reads
 * back to know which update a frame carries, without decoding the whole
 * update, and Hocuspocus's framing of the same frames (its dialect).
 */
import { decodeYWebsocketMessage, encodeYWebsocketMessage, readSafeVarUint } from '@concord/protocol'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'

/** y-websocket sync step 1 with an empty state vector: "send me everything". */
export const emptySyncStep1 = encodeYWebsocketMessage({
  type: 'sync',
  sync: { type: 'step1', stateVector: new Uint8Array([0]) },
})

export const updateFrame = (update: Uint8Array): Uint8Array =>
  encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } })

/** The sync message type of a y-websocket frame (0 step 1, 1 step 2, 2 update), or undefined for other frames. */
export const syncTypeOf = (frame: Uint8Array): number | undefined => (frame[0] === 0 ? frame[1] : undefined)

/**
 * "client:clock" of the first struct of the update a sync-update frame
 * carries: unique per update a client makes, and the same bytes whether a
 * server forwards the update as it came or re-encodes it from its Y.Doc.
 */
export const updateIdOf = (frame: Uint8Array): string | undefined => {
  if (frame[0] !== 0 || frame[1] !== 2) return undefined
  const message = decodeYWebsocketMessage(frame)
  if (message.type !== 'sync' || message.sync.type !== 'update') return undefined
  // The update's header only (struct groups, then the first group's struct count, client and clock).
  const update = decoding.createDecoder(message.sync.update)
  if (readSafeVarUint(update, 'struct groups') === 0) return undefined
  readSafeVarUint(update, 'structs in the first group')
  const client = readSafeVarUint(update, 'client')
  const clock = readSafeVarUint(update, 'clock')
  return `${client}:${clock}`
}

export const openSocket = (url: string, protocol?: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocol === undefined ? [] : [protocol], { perMessageDeflate: false })
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * How a server frames a document's messages: y-websocket (and Concord's
 * y-websocket mode, and the bare servers) name the document in the URL;
 * Hocuspocus names it (a var string) before every message, both ways, and
 * waits for an auth message (type 2, token) before it handles the rest.
 */
export type Dialect = 'y-websocket' | 'hocuspocus'

/** One document's conversation on a socket, in y-websocket frames whatever the dialect underneath. */
export interface DocSocket {
  readonly socket: WebSocket
  send(frame: Uint8Array): void
  onFrame(listener: (frame: Uint8Array) => void): void
  terminate(): void
}

const hocuspocusPrefix = (doc: string): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, doc)
  return encoding.toUint8Array(encoder)
}

const prefixed = (prefix: Uint8Array, frame: Uint8Array): Uint8Array => {
  const out = new Uint8Array(prefix.length + frame.length)
  out.set(prefix)
  out.set(frame, prefix.length)
  return out
}

/** Opens `doc` on `url` in `dialect`; for Hocuspocus, the auth message (an empty token) goes first. */
export const openDocSocket = async (url: string, doc: string, dialect: Dialect): Promise<DocSocket> => {
  const socket = await openSocket(`${url}/${doc}`)
  if (dialect === 'y-websocket') {
    return {
      socket,
      send: (frame) => socket.send(frame),
      onFrame: (listener) => socket.on('message', listener),
      terminate: () => socket.terminate(),
    }
  }
  const prefix = hocuspocusPrefix(doc)
  const auth = encoding.createEncoder()
  encoding.writeVarString(auth, doc)
  encoding.writeVarUint(auth, 2) // MessageType.Auth
  encoding.writeVarUint(auth, 0) // AuthMessageType.Token
  encoding.writeVarString(auth, '')
  socket.send(encoding.toUint8Array(auth))
  return {
    socket,
    send: (frame) => socket.send(prefixed(prefix, frame)),
    onFrame: (listener) =>
      socket.on('message', (data: Buffer) => {
        // Every frame for this socket's one document starts with its name: skip it.
        if (data.length >= prefix.length) listener(data.subarray(prefix.length))
      }),
    terminate: () => socket.terminate(),
  }
}
