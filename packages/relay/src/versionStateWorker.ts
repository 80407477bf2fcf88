/**
 * Owns the worker thread on which the relay computes versions' canonical
 * states (canonicalState.ts): decoding a large document into a Y.Doc and
 * encoding it again held the relay's event loop for tens of milliseconds per
 * version. Answers each request with the state (transferred) and the id, or
 * with the error's message; it keeps nothing between requests.
 */
import { parentPort } from 'node:worker_threads'
import { canonicalOf } from './canonicalState.js'
import { unpackBytes, type PackedBytes } from './packedBytes.js'

export interface VersionStateRequest {
  readonly id: number
  readonly updates: PackedBytes
}

export type VersionStateReply =
  | { readonly id: number; readonly state: Uint8Array; readonly contentId: string }
  | { readonly id: number; readonly error: string }

const port = parentPort
if (!port) throw new Error('versionStateWorker.js runs as a worker thread of VersionStates')

port.on('message', ({ id, updates }: VersionStateRequest) => {
  let reply: VersionStateReply
  try {
    const { state, contentId } = canonicalOf(unpackBytes(updates))
    reply = { id, state, contentId }
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) }
  }
  port.postMessage(reply, 'state' in reply ? [reply.state.buffer as ArrayBuffer] : [])
})
