/**
 * Owns the first step of a fork (clockFork.ts), the one that cannot wait for
 * that module to load (the client imports it with `import()` on the first
 * 4422 that says another writer took this replica's clocks, so an app ships
 * it only when it runs): the old opening ends at once, presence is withdrawn,
 * and what the app or another tab writes on the old doc from now on is kept,
 * to move to the new one.
 */
import type * as Y from 'yjs'
import type { DocHandle } from './docHandle.js'
import type { DocSync } from './docSync.js'
import { fromRelay, fromStore } from './origins.js'

export interface ForkStart {
  readonly previous: Y.Doc
  /** The app's presence before the fork withdrew it. */
  readonly presence: Record<string, unknown> | null
  /** This replica's own updates of `previous` since the start. */
  readonly late: Uint8Array[]
  /** Stops keeping them. */
  readonly stopKeeping: () => void
}

export const startFork = (handle: DocHandle, sync: DocSync): ForkStart => {
  const previous = handle.doc
  const late: Uint8Array[] = []
  const keep = (update: Uint8Array, origin: unknown): void => {
    if (origin !== fromStore && origin !== fromRelay) late.push(update)
  }
  previous.on('update', keep)
  const presence = handle.awareness.getLocalState()
  handle.withdrawPresence()
  sync.close()
  return { previous, presence, late, stopKeeping: () => previous.off('update', keep) }
}
