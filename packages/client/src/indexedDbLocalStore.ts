/**
 * Owns the default LocalStore: one IndexedDB database per store name, read
 * and written through idb. Every method runs in one IDB transaction and
 * resolves only once that transaction has committed, so what a promise
 * reported survives a reload, a crash or a closed tab.
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import { StoreClosedError } from './errors.js'
import type { LocalStore, StoredDocument } from './localStore.js'

interface UpdateRecord {
  readonly doc: string
  readonly update: Uint8Array
  readonly pending: boolean
}

interface ConcordSchema extends DBSchema {
  /**
   * Keyed by an auto-incremented id. Records of the `doc` index are sorted by
   * doc, then by primary key, so one `getAll(doc)` on it reads a document's
   * log in id order: what a compound index on [doc, id] would give, without
   * storing the id twice.
   */
  updates: { key: number; value: UpdateRecord; indexes: { doc: string } }
  /** Keyed by document name. */
  snapshots: { key: string; value: Uint8Array }
}

type StoreName = StoreNames<ConcordSchema>
type Transaction<Mode extends IDBTransactionMode> = IDBPTransaction<ConcordSchema, StoreName[], Mode>

export interface IndexedDbLocalStoreOptions {
  /** The IndexedDB to use; `globalThis.indexedDB` by default. Node tests pass fake-indexeddb's. */
  readonly indexedDB?: IDBFactory
}

const schemaVersion = 1

// Structured clone keeps a view's whole buffer: an update decoded from a
// network frame would store the entire frame, and a Node Buffer its 8 KiB pool.
const exactCopy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

const openDatabase = async (factory: IDBFactory, name: string): Promise<IDBPDatabase<ConcordSchema>> => {
  const request = factory.open(name, schemaVersion)
  request.addEventListener('upgradeneeded', () => {
    const db = request.result
    db.createObjectStore('updates', { autoIncrement: true }).createIndex('doc', 'doc')
    db.createObjectStore('snapshots')
  })
  // No `blocked` handler: every connection this class opens closes itself on
  // `versionchange`, so an upgrade waits only for tabs running older code,
  // and the open completes once they close.
  try {
    return (await wrap(request)) as IDBPDatabase<ConcordSchema>
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name !== 'VersionError') throw error
    throw new Error(`the IndexedDB database "${name}" has a schema newer than ${schemaVersion}`, { cause: error })
  }
}

/**
 * Resolves with what `work` returns once `tx` has committed. If `work` fails,
 * the transaction is aborted so that none of its writes are kept.
 *
 * Requests issued in a loop are wrapped in `async` callbacks, so that one
 * that throws as it is issued becomes a rejection, not an exception that
 * leaves the promises of those issued before it unobserved when the abort
 * rejects them.
 */
const committed = async <T>(tx: { readonly done: Promise<void>; abort(): void }, work: Promise<T>): Promise<T> => {
  try {
    const [result] = await Promise.all([work, tx.done])
    return result
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
  readonly #db: IDBPDatabase<ConcordSchema>
  readonly #running = new Set<Promise<unknown>>()
  #closedBecause: string | undefined

  private constructor(db: IDBPDatabase<ConcordSchema>) {
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
    if (typeof (globalThis as { IDBRequest?: unknown }).IDBRequest === 'undefined') {
      throw new Error(
        'IndexedDbLocalStore: idb needs the IndexedDB classes (IDBRequest, ...) as globals; ' +
          "in Node, import 'fake-indexeddb/auto' first",
      )
    }
    return new IndexedDbLocalStore(await openDatabase(factory, `concord:${name}`))
  }

  load(doc: string): Promise<StoredDocument> {
    return this.#run(['updates', 'snapshots'], 'readonly', async (tx) => {
      const byDoc = tx.objectStore('updates').index('doc')
      // Two reads of one index in one transaction see the same records in the same order.
      const [snapshot, ids, records] = await Promise.all([
        tx.objectStore('snapshots').get(doc),
        byDoc.getAllKeys(doc),
        byDoc.getAll(doc),
      ])
      return {
        snapshot,
        updates: records.map(({ update, pending }, i) => ({ id: ids[i]!, update, pending })),
      }
    })
  }

  append(doc: string, update: Uint8Array, pending: boolean): Promise<number> {
    return this.#run(['updates'], 'readwrite', (tx) => {
      const added = tx.objectStore('updates').add({ doc, update: exactCopy(update), pending })
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
          const record = await updates.get(id)
          if (record?.doc === doc && record.pending) await updates.put({ ...record, pending: false }, id)
        }),
      )
    })
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#run(['updates', 'snapshots'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const snapshots = tx.objectStore('snapshots')
      const [snapshot, ids, records] = await Promise.all([
        snapshots.get(doc),
        updates.index('doc').getAllKeys(doc),
        updates.index('doc').getAll(doc),
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
      await Promise.all([snapshots.put(exactCopy(merged), doc), ...mergedIds.map(async (id) => updates.delete(id))])
      return mergedIds.length
    })
  }

  mergePending(doc: string, ids: readonly number[], merge: (updates: Uint8Array[]) => Uint8Array): Promise<boolean> {
    const sorted = [...new Set(ids)].sort((a, b) => a - b)
    if (sorted.length < 2) return this.#run(['updates'], 'readonly', async () => false)
    return this.#run(['updates'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const records = await Promise.all(sorted.map(async (id) => updates.get(id)))
      if (records.some((record) => record?.doc !== doc || !record.pending)) return false
      // As in compact: merge is synchronous, so the writes are issued in the same transaction as the reads.
      const merged = merge(records.map((record) => record!.update))
      const kept = sorted.at(-1)!
      await Promise.all([
        updates.put({ doc, update: exactCopy(merged), pending: true }, kept),
        ...sorted.slice(0, -1).map(async (id) => updates.delete(id)),
      ])
      return true
    })
  }

  remove(doc: string): Promise<void> {
    return this.#run(['updates', 'snapshots'], 'readwrite', async (tx) => {
      const updates = tx.objectStore('updates')
      const ids = await updates.index('doc').getAllKeys(doc)
      await Promise.all([tx.objectStore('snapshots').delete(doc), ...ids.map(async (id) => updates.delete(id))])
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
  #run<T, Mode extends IDBTransactionMode>(
    stores: StoreName[],
    mode: Mode,
    work: (tx: Transaction<Mode>) => Promise<T>,
  ): Promise<T> {
    const result = (async () => {
      if (this.#closedBecause !== undefined) throw new StoreClosedError(this.#closedBecause)
      const tx = this.#db.transaction(stores, mode)
      return committed(tx, work(tx))
    })()
    this.#running.add(result)
    const forget = () => this.#running.delete(result)
    result.then(forget, forget)
    return result
  }
}
