/**
 * Owns the heavy part of a restore: decoding the live document (as the room holds it) and the
 * version, and computing the one forward edit that makes the live content the version's
 * (restoreContent.ts). It runs on the version worker (versionStateWorker.ts), off the event loop
 * every live client shares; the edit it returns goes through admission on the relay's thread.
 */
import * as Y from 'yjs'
import { restoreContent, type RootKind } from './restoreContent.js'

/**
 * The update that restores `version` over the document `held` makes up, or undefined when their
 * content is already the same. Throws a RootTypeError for a root whose type cannot be told.
 */
export const restoreEditOf = (
  held: readonly Uint8Array[],
  version: Uint8Array,
  kinds: Readonly<Record<string, RootKind>>,
): Uint8Array | undefined => {
  const live = new Y.Doc()
  const target = new Y.Doc()
  try {
    Y.applyUpdate(target, version)
    live.transact(() => held.forEach((update) => Y.applyUpdate(live, update)))
    let edit: Uint8Array | undefined
    live.on('update', (update: Uint8Array) => (edit = update))
    restoreContent(live, target, kinds)
    return edit
  } finally {
    live.destroy()
    target.destroy()
  }
}
