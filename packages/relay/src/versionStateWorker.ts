/**
 * Owns the worker thread on which the relay does a version's heavy work: computing its canonical
 * state (canonicalState.ts; decoding a large document into a Y.Doc and encoding it again held the
 * relay's event loop for tens of milliseconds per version) and a restore's forward edit
 * (restoreEdit.ts; some hundreds of milliseconds for a large document). Answers each request with
 * its result (transferred) or with the error's message (a RootTypeError's root and reason, for the
 * relay to throw it again); it keeps nothing between requests.
 */
import { parentPort } from 'node:worker_threads'
import { canonicalOf } from './canonicalState.js'
import { RootTypeError } from './errors.js'
import { unpackBytes, type PackedBytes } from './packedBytes.js'
import { restoreEditOf } from './restoreEdit.js'
import type { RootKind } from './restoreContent.js'

export type VersionStateRequest =
  | { readonly id: number; readonly op: 'canonical'; readonly updates: PackedBytes }
  | {
      readonly id: number
      readonly op: 'restoreEdit'
      /** The version's state first, then the updates the room holds. */
      readonly updates: PackedBytes
      readonly kinds: Readonly<Record<string, RootKind>>
    }

export type VersionStateReply =
  | { readonly id: number; readonly state: Uint8Array; readonly contentId: string }
  | { readonly id: number; readonly edit: Uint8Array | undefined }
  | { readonly id: number; readonly error: string; readonly rootType?: { root: string; reason: string } }

const port = parentPort
if (!port) throw new Error('versionStateWorker.js runs as a worker thread of VersionStates')

const answer = (request: VersionStateRequest): VersionStateReply => {
  const updates = unpackBytes(request.updates)
  if (request.op === 'canonical') {
    const { state, contentId } = canonicalOf(updates)
    return { id: request.id, state, contentId }
  }
  const [version, ...held] = updates
  return { id: request.id, edit: restoreEditOf(held, version!, request.kinds) }
}

port.on('message', (request: VersionStateRequest) => {
  let reply: VersionStateReply
  try {
    reply = answer(request)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const rootType = error instanceof RootTypeError ? { root: error.root, reason: error.reason } : undefined
    reply = { id: request.id, error: message, ...(rootType && { rootType }) }
  }
  const transfer = 'state' in reply ? [reply.state.buffer] : 'edit' in reply && reply.edit ? [reply.edit.buffer] : []
  port.postMessage(reply, transfer as ArrayBuffer[])
})
