/**
 * The page of the realistic cold load and of the large document, bundled for
 * Chromium. The realistic cold load: one editing session typed into a Y.Doc
 * through each library's normal path (Concord's client connected to a relay,
 * with its IndexedDB store compacting as it does; y-indexeddb's
 * IndexeddbPersistence trimming as it does), then, in a fresh page, a cold
 * open until the document is usable. The large document: a snapshot stored as
 * the client's compaction stores it, opened by the client, against a bare
 * `Y.applyUpdate` of the same bytes in the same page.
 */
import { createClient, IndexedDbLocalStore } from '@concord/client'
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import { openConcord, openYIndexeddb, type OpenTiming } from './coldOpen.js'

export type Patches = ReadonlyArray<readonly [number, number, string]>

/**
 * How the session is typed: each transaction of the trace is one Yjs
 * transaction (one keystroke, as an editor binding makes them), `burst` of
 * them at a time, then a short pause (longer than Concord's 50 ms of quiet
 * before it compacts), and every `longPauseEvery` bursts a long one (longer
 * than the 1 s y-indexeddb waits after its 500th stored update before it
 * trims). The session ends with a long pause, then the app closes.
 */
export interface Session {
  readonly txns: readonly Patches[]
  readonly burst: number
  readonly shortPauseMs: number
  readonly longPauseEvery: number
  readonly longPauseMs: number
}

/** What one library left in IndexedDB: its records and their bytes. */
export interface StoredShape {
  readonly records: number
  readonly bytes: number
}

const sessionDoc = 'session'
const concordName = 'real'
const yIndexeddbName = 'real-y-indexeddb'
const largeName = 'large'
const largeDoc = 'automerge-paper'

const decode = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const type = async (doc: Y.Doc, session: Session): Promise<void> => {
  const text = doc.getText('t')
  for (let start = 0, bursts = 1; start < session.txns.length; start += session.burst, bursts++) {
    for (const patches of session.txns.slice(start, start + session.burst)) {
      doc.transact(() => {
        for (const [position, deleted, inserted] of patches) {
          if (deleted > 0) text.delete(position, deleted)
          if (inserted.length > 0) text.insert(position, inserted)
        }
      })
    }
    await sleep(bursts % session.longPauseEvery === 0 ? session.longPauseMs : session.shortPauseMs)
  }
}

const openRaw = (name: string): Promise<IDBDatabase> =>
  new Promise((resolve, reject) => {
    const request = indexedDB.open(name)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })

const readAll = (db: IDBDatabase, store: string): Promise<unknown[]> =>
  new Promise((resolve, reject) => {
    const request = db.transaction(store, 'readonly').objectStore(store).getAll()
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })

const shapeOf = (values: readonly Uint8Array[]): StoredShape => ({
  records: values.length,
  bytes: values.reduce((sum, value) => sum + value.byteLength, 0),
})

const session = {
  /** Types the session into a handle of a client connected to the relay at `url`, waits until it is synced, closes. */
  async writeConcord({ url, session }: { url: string; session: Session }): Promise<void> {
    const client = createClient({ url, name: concordName, shareAcrossTabs: false })
    const handle = client.open(sessionDoc)
    await handle.whenLoaded()
    await type(handle.doc, session)
    await handle.whenSynced()
    await sleep(session.longPauseMs)
    await client.destroy()
  },

  async writeYIndexeddb({ session }: { session: Session }): Promise<void> {
    const doc = new Y.Doc()
    const persistence = new IndexeddbPersistence(yIndexeddbName, doc)
    await persistence.whenSynced
    await type(doc, session)
    await sleep(session.longPauseMs)
    await persistence.destroy()
  },

  async storedConcord(): Promise<{ readonly updates: StoredShape; readonly snapshot: StoredShape }> {
    const db = await openRaw(`concord:${concordName}`)
    const updates = (await readAll(db, 'updates')) as Array<{ update: Uint8Array }>
    const snapshots = (await readAll(db, 'snapshots')) as Uint8Array[]
    db.close()
    return { updates: shapeOf(updates.map(({ update }) => update)), snapshot: shapeOf(snapshots) }
  },

  async storedYIndexeddb(): Promise<StoredShape> {
    const db = await openRaw(yIndexeddbName)
    const updates = (await readAll(db, 'updates')) as Uint8Array[]
    db.close()
    return shapeOf(updates)
  },

  openConcord: (): Promise<OpenTiming> => openConcord(concordName, sessionDoc),

  openYIndexeddb: (): Promise<OpenTiming> => openYIndexeddb(yIndexeddbName),

  /** Stores `snapshot` as the client's compaction leaves a document: one snapshot, an empty log. */
  async storeLarge(snapshot: string): Promise<void> {
    const store = await IndexedDbLocalStore.open(largeName)
    await store.append(largeDoc, decode(snapshot), false)
    await store.compact(largeDoc, (updates) => Y.mergeUpdates(updates))
    await store.close()
  },

  /**
   * The client's open of the stored snapshot and a bare apply of the same
   * bytes (already in memory: the floor), in the order given.
   */
  async openLarge({
    snapshot,
    concordFirst,
  }: {
    snapshot: string
    concordFirst: boolean
  }): Promise<{ readonly concord: OpenTiming; readonly bare: OpenTiming }> {
    const bytes = decode(snapshot)
    const bare = (): OpenTiming => {
      const startedAt = performance.now()
      const doc = new Y.Doc()
      Y.applyUpdate(doc, bytes)
      const ms = performance.now() - startedAt
      const textLength = doc.getText('t').length
      doc.destroy()
      return { ms, textLength }
    }
    if (concordFirst) {
      const concord = await openConcord(largeName, largeDoc)
      return { concord, bare: bare() }
    }
    const first = bare()
    return { concord: await openConcord(largeName, largeDoc), bare: first }
  },
}

export type SessionPage = typeof session
;(globalThis as unknown as { session: SessionPage }).session = session
