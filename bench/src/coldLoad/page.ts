/**
 * The page of scenario 5, bundled for Chromium: fills each store with the
 * same incremental updates, and loads a document from each as an app does on
 * a cold start (open the database, read, apply), timed in the page.
 */
import { IndexedDbLocalStore } from '@concord/client'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { openConcord, openYIndexeddb, type OpenTiming } from './coldOpen.js'

const concordStore = 'bench'
const concordDoc = 'cold-load'
const yIndexeddbName = 'bench-y-indexeddb'

const decode = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))

const coldLoad = {
  /** Stores each update through the client's LocalStore, one transaction each, as the client does. */
  async fillConcord(updates: readonly string[]): Promise<void> {
    const store = await IndexedDbLocalStore.open(concordStore)
    for (const update of updates) await store.append(concordDoc, decode(update), false)
    await store.close()
  },

  /** Stores each update in y-indexeddb's `updates` object store, as its update handler does. */
  async fillYIndexeddb(updates: readonly string[]): Promise<void> {
    const persistence = new IndexeddbPersistence(yIndexeddbName, new Y.Doc())
    await persistence.whenSynced
    await persistence.destroy()
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(yIndexeddbName)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    for (const update of updates) {
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction('updates', 'readwrite')
        tx.objectStore('updates').add(decode(update))
        tx.oncomplete = () => resolve()
        tx.onerror = () => reject(tx.error)
      })
    }
    db.close()
  },

  loadConcord: (): Promise<OpenTiming> => openConcord(concordStore, concordDoc),

  /** The part of loadConcord that reads IndexedDB: open the store and read the document's records, applying nothing. */
  async readConcord(): Promise<OpenTiming> {
    const startedAt = performance.now()
    const store = await IndexedDbLocalStore.open(concordStore)
    const stored = await store.load(concordDoc)
    const ms = performance.now() - startedAt
    await store.close()
    return { ms, textLength: stored.updates.length }
  },

  loadYIndexeddb: (): Promise<OpenTiming> => openYIndexeddb(yIndexeddbName),
}

export type ColdLoadPage = typeof coldLoad
;(globalThis as unknown as { coldLoad: ColdLoadPage }).coldLoad = coldLoad
