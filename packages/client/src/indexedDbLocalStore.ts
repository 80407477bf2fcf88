/**
 * Owns the default LocalStore: one IndexedDB database per store name, read
 * and written through IndexedDB's own requests (two promise wrappers below,
 * rather than a library of them: the client's bundle carries 0.4 KB of them
 * instead of idb's 2.9). Every method runs in one IDB transaction and
 * resolves only once that transaction has committed, so what a promise
 * reported survives a reload, a crash or a closed tab.
 */
import { StoreClosedError } from './errors.js'
import type { LocalStore, StoredDocument } from './localStore.js'

interface UpdateRecord {
  readonly doc: string
  readonly update: Uint8Array
  readonly pending: boolean
}

/**
 * The object stores. `updates`: keyed by an auto-incremented id. Records of
 * its `doc` index are sorted by doc, then by primary key, so one
 * `getAll(doc)` on it reads a document's log in id order: what a compound
 * index on [doc, id] would give, without storing the id twice. `snapshots`:
 * keyed by document name.
 */
type StoreName = 'updates' | 'snapshots'

export interface IndexedDbLocalStoreOptions {
  /** The IndexedDB to use; `globalThis.indexedDB` by default. Node tests pass fake-indexeddb's. */
  readonly indexedDB?: IDBFactory
}

const schemaVersion = 1

// Structured clone keeps a view's whole buffer: an update decoded from a
// network frame would store the entire frame, and a Node Buffer its 8 KiB pool.
const exactCopy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

/**
 * What `request` gives once it succeeds. The promise settles in the
 * request's own event, so code awaiting it runs while its transaction is
 * still active and can issue more requests in it.
 */
const result = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })

/** Resolves once `tx` has committed; rejects once it failed or was aborted. Called as the transaction is made. */
const completion = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
  })

const openDatabase = async (factory: IDBFactory, name: string): Promise<IDBDatabase> => {
  const request = factory.open(name, schemaVersion)
  request.onupgradeneeded = () => {
    const db = request.result
    db.createObjectStore('updates', { autoIncrement: true }).createIndex('doc', 'doc')
    db.createObjectStore('snapshots')
  }
  // No `blocked` handler: every connection this class opens closes itself on
  // `versionchange`, so an upgrade waits only for tabs running older code,
  // and the open completes once they close.
  try {
    return await result(request)
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name !== 'VersionError') throw error
    throw new Error(`the IndexedDB database "${name}" has a schema newer than ${schemaVersion}`, { cause: error })
  }
}

/**
 * Resolves with what `work` returns once `tx` has committed (`done`). If
 * `work` fails, the transaction is aborted so that none of its writes are kept.
 *
 * Requests issued in a loop are wrapped in `async` callbacks, so that one
 * that throws as it is issued becomes a rejection, not an exception that
 * leaves the promises of those issued before it unobserved when the abort
 * rejects them.
 */
const committed = async <T>(tx: IDBTransaction, done: Promise<void>, work: Promise<T>): Promise<T> => {
  try {
    const [value] = await Promise.all([work, done])
    return value
  } catch (error) {
    try {
      tx.abort()
    } catch {
      // Already finished: aborted by the failure itself, or nothing was left to undo.
    }
    throw error
  }
}

export class IndexedDbLocalStore implements LocalStore {
  readonly #db: IDBDatabase
  readonly #running = new Set<Promise<unknown>>()
  #closedBecause: string | undefined

  private constructor(db: IDBDatabase) {
    this.#db = db
    db.addEventListener('versionchange', () => {
      // Another tab is upgrading or deleting the database; staying open would block it.
      this.#closedBecause ??= 'the local store was closed for another connection that upgrades or deletes it'
      db.close()
    })
    db.addEventListener('close', () => {
      this.#closedBecause ??= 'the local store was closed by the browser'
    })
  }

  /** Opens (or creates) the store `name`, the IndexedDB database `concord:${name}`. */
  static async open(name = 'concord', options: IndexedDbLocalStoreOptions = {}): Promise<IndexedDbLocalStore> {
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB
    if (!factory) throw new Error('IndexedDbLocalStore: no IndexedDB here; pass one as the `indexedDB` option')
    return new IndexedDbLocalStore(await openDatabase(factory, `concord:${name}`))
  }

  load(doc: string): Promise<StoredDocument> {
    return this.#run(['updates', 'snapshots'], 'readonly', async (tx) => {
      const byDoc = tx.objectStore('updates').index('doc')
      // Two reads of one index in one transaction see the same records in the same order.
      const [snapshot, ids, records] = await Promise.all([
        result(tx.objectStore('snapshots').get(doc)) as Promise<Uint8Array | undefined>,
        result(byDoc.getAllKeys(doc)) as Promise<number[]>,
        result(byDoc.getAll(doc)) as Promise<UpdateRecord[]>,
      ])
      return {
        snapshot,
        updates: records.map(({ update, pending }, i) => ({ id: ids[i]!, update, pending })),
      }
    })
  }

  append(doc: string, update: Uint8Array, pending: boolean): Promise<number> {
    return this.#run(['updates'], 'readwrite', (tx) => {
      const record: UpdateRecord = { doc, update: exactCopy(update), pending }
      const added = result(tx.objectStore('updates').add(record)) as Promise<number>
      // Start committing now rather than at the end of the task: a tab closed right after a
      // keystroke gives the transaction no later chance. (Older Safari has no commit().)
      if (typeof tx.commit === 'function') tx.commit()
      return added
    })
  }

  acknowledge(doc: string, ids: readonly number[]): Promise<void> {
    return this.#run(['updates'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      await Promise.all(
        ids.map(async (id) => {
          const record = (await result(updates.get(id))) as UpdateRecord | undefined
          if (record?.doc === doc && record.pending) await result(updates.put({ ...record, pending: false }, id))
        }),
      )
    })
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#run(['updates', 'snapshots'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const snapshots = tx.objectStore('snapshots')
      const [snapshot, ids, records] = await Promise.all([
        result(snapshots.get(doc)) as Promise<Uint8Array | undefined>,
        result(updates.index('doc').getAllKeys(doc)) as Promise<number[]>,
        result(updates.index('doc').getAll(doc)) as Promise<UpdateRecord[]>,
      ])
      const mergedIds = ids.filter((_, i) => !records[i]!.pending)
      if (mergedIds.length === 0) return 0
      const inputs = records.filter((record) => !record.pending).map((record) => record.update)
      // An IDB transaction commits as soon as a task ends with none of its
      // requests outstanding. The code from here runs in the microtasks of the
      // last read's success event, and `merge` is synchronous, so the writes
      // below are issued before that task ends: the reads, the merge and the
      // writes share one transaction, and no other transaction can come in
      // between. An `await` on anything but this transaction's own requests
      // (a timer, a worker) would let it commit after the reads.
      const merged = merge(snapshot ? [snapshot, ...inputs] : inputs)
      await Promise.all([
        result(snapshots.put(exactCopy(merged), doc)),
        ...mergedIds.map(async (id) => result(updates.delete(id))),
      ])
      return mergedIds.length
    })
  }

  mergePending(doc: string, ids: readonly number[], merge: (updates: Uint8Array[]) => Uint8Array): Promise<boolean> {
    const sorted = [...new Set(ids)].sort((a, b) => a - b)
    if (sorted.length < 2) return this.#run(['updates'], 'readonly', async () => false)
    return this.#run(['updates'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const records = (await Promise.all(sorted.map(async (id) => result(updates.get(id))))) as Array<
        UpdateRecord | undefined
      >
      if (records.some((record) => record?.doc !== doc || !record.pending)) return false
      // As in compact: merge is synchronous, so the writes are issued in the same transaction as the reads.
      const merged = merge(records.map((record) => record!.update))
      const kept = sorted.at(-1)!
      const record: UpdateRecord = { doc, update: exactCopy(merged), pending: true }
      await Promise.all([
        result(updates.put(record, kept)),
        ...sorted.slice(0, -1).map(async (id) => result(updates.delete(id))),
      ])
      return true
    })
  }

  remove(doc: string): Promise<void> {
    return this.#run(['updates', 'snapshots'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const ids = await result(updates.index('doc').getAllKeys(doc))
      await Promise.all([
        result(tx.objectStore('snapshots').delete(doc)),
        ...ids.map(async (id) => result(updates.delete(id))),
      ])
    })
  }

  /** Refuses new operations, then resolves once those already running have finished. */
  async close(): Promise<void> {
    this.#closedBecause ??= 'the local store is closed'
    // Transactions already created still run to completion on a closing connection.
    this.#db.close()
    await Promise.allSettled([...this.#running])
  }

  /** Runs `work` in a new transaction over `stores`; resolves once it has committed. */
  #run<T>(stores: StoreName[], mode: IDBTransactionMode, work: (tx: IDBTransaction) => Promise<T>): Promise<T> {
    const running = (async () => {
      if (this.#closedBecause !== undefined) throw new StoreClosedError(this.#closedBecause)
      const tx = this.#db.transaction(stores, mode)
      const done = completion(tx)
      return committed(tx, done, work(tx))
    })()
    this.#running.add(running)
    const forget = () => this.#running.delete(running)
    running.then(forget, forget)
    return running
  }
}
