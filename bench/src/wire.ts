/**
 * Owns what the load generator reads and writes on a y-websocket socket: the
 * frames it sends (sync step 1, updates) and the few bytes it reads back to
 * know which update a frame carries, without decoding the whole update.
 */
import { decodeYWebsocketMessage, encodeYWebsocketMessage, readSafeVarUint } from '@concord/protocol'
import * as decoding from 'lib0/decoding'
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
