/**
 * Owns the embedded default DocStore: one SQLite file in WAL mode. Appends
 * made in one event-loop turn are committed together in one transaction
 * (group commit), and only then do their promises resolve, so an
 * acknowledged update survives `kill -9`.
 */
import Database from 'better-sqlite3'
import type { DocStore } from './docStore.js'
import { StoreClosedError } from './errors.js'

export interface SqliteDocStoreOptions {
  /**
   * `full` (the default) syncs the WAL at every commit: an acknowledged
   * update survives a crash of the process and of the machine. `normal`
   * survives a crash of the process only, for cheaper commits.
   */
  readonly synchronous?: 'full' | 'normal'
}

interface PendingAppend {
  readonly doc: string
  readonly update: Buffer
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

const schemaVersion = 1

export class SqliteDocStore implements DocStore {
  readonly #db: Database.Database
  readonly #insert: Database.Statement<[string, Buffer]>
  readonly #insertWithId: Database.Statement<[number, string, Buffer]>
  readonly #select: Database.Statement<[string], { id: number; data: Buffer }>
  readonly #deleteUpTo: Database.Statement<[string, number]>
  readonly #anyRow: Database.Statement<[]>
  readonly #commitBatch: (batch: PendingAppend[]) => void
  #queue: PendingAppend[] = []
  #flushScheduled = false
  #closed = false

  /** Opens (or creates) the database file at `path`. Throws if it is not a Concord store or cannot be opened. */
  constructor(path: string, options: SqliteDocStoreOptions = {}) {
    this.#db = new Database(path)
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
    this.#db.pragma('busy_timeout = 5000')
    this.#migrate()
    this.#insert = this.#db.prepare('INSERT INTO updates (doc, data) VALUES (?, ?)')
    this.#insertWithId = this.#db.prepare('INSERT INTO updates (id, doc, data) VALUES (?, ?, ?)')
    this.#select = this.#db.prepare('SELECT id, data FROM updates WHERE doc = ? ORDER BY id')
    this.#deleteUpTo = this.#db.prepare('DELETE FROM updates WHERE doc = ? AND id <= ?')
    this.#anyRow = this.#db.prepare('SELECT id FROM updates LIMIT 1')
    this.#commitBatch = this.#db.transaction((batch: PendingAppend[]) => {
      for (const { doc, update } of batch) this.#insert.run(doc, update)
    })
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number
    if (version === schemaVersion) return
    if (version !== 0) throw new Error(`unknown Concord store schema version ${version} (expected ${schemaVersion})`)
    this.#db.exec(`
      CREATE TABLE updates (
        id INTEGER PRIMARY KEY,
        doc TEXT NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX updates_by_doc ON updates (doc, id);
      PRAGMA user_version = ${schemaVersion};
    `)
  }

  load(doc: string): Promise<Uint8Array[]> {
    try {
      this.#assertOpen()
      this.#flush()
      return Promise.resolve(this.#select.all(doc).map((row) => row.data))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  append(doc: string, update: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError())
    return new Promise((resolve, reject) => {
      this.#queue.push({
        doc,
        update: Buffer.from(update.buffer, update.byteOffset, update.byteLength),
        resolve,
        reject,
      })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        // setImmediate runs after the I/O callbacks of this turn: every frame
        // read in this turn joins the same transaction.
        setImmediate(() => this.#flush())
      }
    })
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    try {
      this.#assertOpen()
      this.#flush()
      const merged = this.#db.transaction(() => {
        const rows = this.#select.all(doc)
        const last = rows.at(-1)
        if (!last || rows.length < 2) return 0
        const update = merge(rows.map((row) => row.data))
        this.#deleteUpTo.run(doc, last.id)
        this.#insertWithId.run(last.id, doc, Buffer.from(update.buffer, update.byteOffset, update.byteLength))
        return rows.length
      })()
      return Promise.resolve(merged)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  ping(): Promise<void> {
    try {
      this.#assertOpen()
      // Reads the table itself, so a file that lost it or cannot be read fails here.
      this.#anyRow.get()
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#flush()
    this.#closed = true
    this.#db.close()
    return Promise.resolve()
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    try {
      this.#commitBatch(batch)
    } catch (error) {
      for (const append of batch) append.reject(error)
      return
    }
    for (const append of batch) append.resolve()
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
