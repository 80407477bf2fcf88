/**
 * Owns a LocalStore in one SQLite file, for Node replicas that must survive
 * a crash: Node has no IndexedDB, and fake-indexeddb keeps nothing on disk.
 * Every operation runs in its own transaction and has committed when its
 * promise resolves, so a write the client reported committed survives
 * `kill -9` of the process.
 */
import { StoreClosedError, type LocalStore, type StoredDocument } from '@concord/client'
import Database from 'better-sqlite3'

export interface SqliteLocalStoreOptions {
  /**
   * `full` (the default) syncs the WAL at every commit: a commit survives a
   * crash of the machine. `normal` survives a crash of the process only,
   * which is what the chaos harness injects, for cheaper commits.
   */
  readonly synchronous?: 'full' | 'normal'
}

interface UpdateRow {
  id: number
  data: Buffer
  pending: number
}

const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
// A copy that owns its memory: rows from better-sqlite3 are Buffers, which may share a pool.
const toBytes = (data: Buffer): Uint8Array => new Uint8Array(data)

export class SqliteLocalStore implements LocalStore {
  readonly #db: Database.Database
  readonly #statements
  #closed = false

  /** Opens (or creates) the store at `path`. */
  constructor(path: string, options: SqliteLocalStoreOptions = {}) {
    this.#db = new Database(path)
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS snapshots (doc TEXT PRIMARY KEY, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS updates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc TEXT NOT NULL,
        data BLOB NOT NULL,
        pending INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS updates_by_doc ON updates (doc, id);
    `)
    const db = this.#db
    this.#statements = {
      snapshot: db.prepare<[string], { data: Buffer }>('SELECT data FROM snapshots WHERE doc = ?'),
      updates: db.prepare<[string], UpdateRow>('SELECT id, data, pending FROM updates WHERE doc = ? ORDER BY id'),
      insert: db.prepare<[string, Buffer, number]>('INSERT INTO updates (doc, data, pending) VALUES (?, ?, ?)'),
      acknowledge: db.prepare<[string, number]>('UPDATE updates SET pending = 0 WHERE doc = ? AND id = ?'),
      putSnapshot: db.prepare<[string, Buffer]>('INSERT OR REPLACE INTO snapshots (doc, data) VALUES (?, ?)'),
      deleteUpdate: db.prepare<[number]>('DELETE FROM updates WHERE id = ?'),
      replaceUpdate: db.prepare<[Buffer, number]>('UPDATE updates SET data = ? WHERE id = ?'),
      deleteSnapshot: db.prepare<[string]>('DELETE FROM snapshots WHERE doc = ?'),
      deleteUpdates: db.prepare<[string]>('DELETE FROM updates WHERE doc = ?'),
    }
  }

  load(doc: string): Promise<StoredDocument> {
    return this.#run(() => {
      const snapshot = this.#statements.snapshot.get(doc)
      return {
        snapshot: snapshot && toBytes(snapshot.data),
        updates: this.#statements.updates
          .all(doc)
          .map(({ id, data, pending }) => ({ id, update: toBytes(data), pending: pending === 1 })),
      }
    })
  }

  append(doc: string, update: Uint8Array, pending: boolean): Promise<number> {
    return this.#run(() => Number(this.#statements.insert.run(doc, toBuffer(update), pending ? 1 : 0).lastInsertRowid))
  }

  acknowledge(doc: string, ids: readonly number[]): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        for (const id of ids) this.#statements.acknowledge.run(doc, id)
      })()
    })
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#run(() =>
      this.#db.transaction(() => {
        const merged = this.#statements.updates.all(doc).filter(({ pending }) => pending === 0)
        if (merged.length === 0) return 0
        const snapshot = this.#statements.snapshot.get(doc)
        const inputs = merged.map(({ data }) => toBytes(data))
        this.#statements.putSnapshot.run(doc, toBuffer(merge(snapshot ? [toBytes(snapshot.data), ...inputs] : inputs)))
        for (const { id } of merged) this.#statements.deleteUpdate.run(id)
        return merged.length
      })(),
    )
  }

  mergePending(doc: string, ids: readonly number[], merge: (updates: Uint8Array[]) => Uint8Array): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        const merging = new Set(ids)
        const inputs = this.#statements.updates.all(doc).filter(({ id }) => merging.has(id))
        if (merging.size < 2 || inputs.length !== merging.size || inputs.some(({ pending }) => pending === 0)) {
          return false
        }
        const kept = inputs.at(-1)!.id
        this.#statements.replaceUpdate.run(toBuffer(merge(inputs.map(({ data }) => toBytes(data)))), kept)
        for (const { id } of inputs.slice(0, -1)) this.#statements.deleteUpdate.run(id)
        return true
      })(),
    )
  }

  remove(doc: string): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        this.#statements.deleteSnapshot.run(doc)
        this.#statements.deleteUpdates.run(doc)
      })()
    })
  }

  close(): Promise<void> {
    if (!this.#closed) this.#db.close()
    this.#closed = true
    return Promise.resolve()
  }

  #run<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError())
    try {
      return Promise.resolve(operation())
    } catch (error) {
      return Promise.reject(error)
    }
  }
}
