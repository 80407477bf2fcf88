/**
 * Owns what a version stores of a document: its state re-encoded from a
 * Y.Doc (its smallest form), and the id of an automatic version of it, the
 * hash of its snapshot (state vector and delete set), so that two relays of
 * a cluster that take a version of the same content derive the same id.
 * Pure and synchronous: the relay runs it on a worker thread of its own
 * (versionStateWorker.ts), since for a large document it takes tens of
 * milliseconds.
 */
import { createHash } from 'node:crypto'
import * as Y from 'yjs'

export interface CanonicalState {
  readonly state: Uint8Array
  readonly contentId: string
}

/** The canonical state of the document `updates` make up (in any order, as Yjs applies them). */
export const canonicalOf = (updates: Uint8Array | readonly Uint8Array[]): CanonicalState => {
  const doc = new Y.Doc()
  try {
    if (updates instanceof Uint8Array) Y.applyUpdate(doc, updates)
    else doc.transact(() => updates.forEach((update) => Y.applyUpdate(doc, update)))
    const snapshot = Y.encodeSnapshot(Y.snapshot(doc))
    const contentId = createHash('sha256').update(snapshot).digest('base64url').slice(0, 22)
    return { state: Y.encodeStateAsUpdate(doc), contentId }
  } finally {
    doc.destroy()
  }
}
