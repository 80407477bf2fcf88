/**
 * Owns a server-side document: a Y.Doc inside the relay's process that holds
 * a live document, receives every update other peers make, and whose own
 * transactions are admitted, stored and forwarded like a client's (through
 * a DirectPeer). For backends that seed, index, or edit documents.
 */
import * as Y from 'yjs'
import { DirectPeer } from './directPeer.js'
import type { Room } from './room.js'

export interface ServerDocument {
  readonly name: string
  /** The live document. Its transactions are stored and forwarded; other peers' updates arrive in it. */
  readonly doc: Y.Doc
  /**
   * Resolves once every transaction made in `doc` so far is durable in the
   * store. Rejects with the first failure: a ProtocolError (the relay refused
   * an update, e.g. it contradicts stored content) or a
   * DocumentUnavailableError (the store failed; the handle is then closed).
   */
  flush(): Promise<void>
  /** Flushes, then stops receiving updates. Idempotent. */
  close(): Promise<void>
}

export interface OpenDocumentOptions {
  /** Who writes through this handle, as the `onChange` hook names them. Default: `server`. */
  readonly by?: string
}

/** Updates that came from the room: applied to `doc`, never sent back. */
const fromRoom = Symbol('concord: from the room')

/** Opens `room`'s document; resolves once `doc` holds everything the room holds. */
export const openServerDocument = (room: Room, name: string, by: string): Promise<ServerDocument> =>
  new Promise((resolve, reject) => {
    const doc = new Y.Doc()
    let writes: Promise<void> = Promise.resolve()
    let failure: unknown
    let loaded = false
    const peer: DirectPeer = new DirectPeer(room, 'write', by, {
      // No step1 listener: the room need not ask what this peer has that it lacks (its state vector
      // would cost a merge of the whole document), as local transactions are sent as they happen.
      update: (update) => Y.applyUpdate(doc, update, fromRoom),
      step2: (update) => {
        Y.applyUpdate(doc, update, fromRoom)
        if (loaded) return
        loaded = true
        doc.on('update', onLocalUpdate)
        resolve(handle)
      },
      refused: (error) => {
        failure ??= error
        doc.off('update', onLocalUpdate)
        if (!loaded) reject(error)
      },
    })
    const onLocalUpdate = (update: Uint8Array, origin: unknown): void => {
      if (origin === fromRoom) return
      const sent = peer.send({ type: 'update', update })
      // Kept in order, and remembered: flush() reports the first failure.
      sent.catch((error: unknown) => (failure ??= error))
      writes = Promise.all([writes, sent.catch(() => {})]).then(() => {})
    }
    const flush = async (): Promise<void> => {
      await writes
      if (failure) throw failure
    }
    let closing: Promise<void> | undefined
    const handle: ServerDocument = {
      name,
      doc,
      flush,
      close: () =>
        (closing ??= flush().finally(() => {
          doc.off('update', onLocalUpdate)
          peer.leave()
          doc.destroy()
        })),
    }
    peer.send({ type: 'step1', stateVector: new Uint8Array([0]) }).catch((error: unknown) => {
      if (loaded) return
      peer.leave()
      reject(error)
    })
  })
