/**
 * Owns the cold open both client pages time (page.ts, sessionPage.ts), bundled into each for
 * Chromium: a document opened from IndexedDB until it is usable, through Concord's client or
 * through y-indexeddb, timed in the page.
 */
import { createClient } from '@concord/client'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'

export interface OpenTiming {
  readonly ms: number
  readonly textLength: number
}

/** Opens `doc` of the client store `name` until it is loaded. */
export const openConcord = async (name: string, doc: string): Promise<OpenTiming> => {
  const startedAt = performance.now()
  // The store opened by name, as an app's default; no relay, so that only the device is timed.
  const client = createClient({ url: 'ws://127.0.0.1:9', name, connect: false, shareAcrossTabs: false })
  const handle = client.open(doc)
  await handle.whenLoaded()
  const ms = performance.now() - startedAt
  const textLength = handle.doc.getText('t').length
  await client.destroy()
  return { ms, textLength }
}

/** Opens the y-indexeddb database `name` into a fresh Y.Doc until it is synced. */
export const openYIndexeddb = async (name: string): Promise<OpenTiming> => {
  const startedAt = performance.now()
  const doc = new Y.Doc()
  const persistence = new IndexeddbPersistence(name, doc)
  await persistence.whenSynced
  const ms = performance.now() - startedAt
  const textLength = doc.getText('t').length
  await persistence.destroy()
  return { ms, textLength }
}
