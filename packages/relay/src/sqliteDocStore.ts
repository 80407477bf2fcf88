/**
 * Owns the embedded default DocStore: one SQLite file in WAL mode, run by a
 * worker thread (sqliteStoreWorker.ts) so that commits, and their fsync, do
 * not stop the relay's event loop. Appends made in one event-loop turn go to
 * the worker as one message and are committed there in one transaction
 * (group commit, see groupCommit.ts); appends made while a commit is in
 * flight wait for the next one. An append's promise resolves only after its
 * commit, so an acknowledged update survives `kill -9`.
 */
import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import type {
  DocStore,
  DocumentQuery,
  NewVersion,
  QuarantinedUpdate,
  StoredDocumentInfo,
  VersionInfo,
  VersionQuery,
} from './docStore.js'
import { DocumentDeletedError, StoreClosedError, StoreWorkerExitedError } from './errors.js'
import { startModuleWorker } from './moduleWorker.js'
import { GroupCommit } from './groupCommit.js'
import { packBytes, unpackBytes, type PackedBytes } from './packedBytes.js'
import { outboxSchema } from './sqliteOutbox.js'
import {
  coalesceEvents,
  type ClaimedOutboxEvent,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxStats,
} from './webhookOutbox.js'
import type {
  LogRows,
  OutboxCall,
  QuarantinedRows,
  SerializedError,
  SqliteWorkerData,
  SqliteWorkerReply,
  SqliteWorkerRequest,
} from './sqliteStoreWorker.js'
import { versionsTable, type VersionRow } from './sqliteVersionRows.js'

export interface SqliteDocStoreOptions {
  /**
   * `full` (the default) syncs the WAL at every commit: an acknowledged
   * update survives a crash of the process and of the machine. `normal`
   * survives a crash of the process only, for cheaper commits.
   */
  readonly synchronous?: 'full' | 'normal'
  /**
   * The largest the database may grow, in bytes (SQLite's max_page_count). Past it, appends reject
   * with SQLITE_FULL, as on a full disk: the relay refuses the documents written to (4503) until
   * space is freed, rather than fill the disk it shares. Default: no cap but the disk's.
   */
  readonly maxDatabaseBytes?: number
}

interface Append {
  readonly doc: string
  readonly update: Uint8Array
  readonly events: readonly OutboxEvent[] | undefined
}

interface PendingReply {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/** Requests as the store makes them; it adds the id. */
type Request = SqliteWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

/**
 * 2 added `updates.stored_at`, when a row was stored (ms since the epoch;
 * null in rows stored before), and `tombstones`, the removed documents.
 * 3 added `versions` (see sqliteVersionRows.ts).
 */
const schemaVersion = 3

/**
 * The worker's young generation is kept small: it handles small messages and keeps little, and V8's
 * default (semi-spaces of 16 MB) grew its RSS by about 11 MB after 20,000 appends (5.5 MB at 4, and
 * about 4 MB less again at 2, its CPU unchanged). Only the young generation is limited, so a large
 * load or compaction cannot run it out of memory.
 */
const workerLimits = { maxYoungGenerationSizeMb: 2 }

const startWorker = (workerData: SqliteWorkerData): Worker =>
  startModuleWorker('sqliteStoreWorker', workerData, workerLimits)

const tombstonesTable = 'CREATE TABLE tombstones (doc TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL) WITHOUT ROWID;'
const quarantineSchema = `
  CREATE TABLE IF NOT EXISTS quarantined_updates (
    doc TEXT NOT NULL,
    digest TEXT NOT NULL,
    data BLOB NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (doc, digest)
  );
`

/** Added within version 3, as quarantined_updates was within 1: files made before get it on their next open. */
const contestedSchema = `
  CREATE TABLE IF NOT EXISTS contested_clients (
    doc TEXT NOT NULL,
    client INTEGER NOT NULL,
    PRIMARY KEY (doc, client)
  ) WITHOUT ROWID;
`

/** Creates the schema of a new file, and throws on a file that is not a Concord store of this version. */
const prepareFile = (path: string): void => {
  const db = new Database(path)
  try {
    db.pragma('journal_mode = WAL')
    const version = db.pragma('user_version', { simple: true }) as number
    if (version !== 0 && version !== 1 && version !== 2 && version !== schemaVersion) {
      throw new Error(`unknown Concord store schema version ${version} (expected ${schemaVersion})`)
    }
    // Added within version 1: files made before it get the table on their next open.
    db.exec(quarantineSchema)
    db.exec(contestedSchema)
    db.exec(outboxSchema)
    if (version === schemaVersion) return
    // Each step is one transaction, so a file is never left between two versions.
    if (version === 1) {
      db.exec(`
        BEGIN;
        ALTER TABLE updates ADD COLUMN stored_at INTEGER;
        ${tombstonesTable}
        ${versionsTable}
        PRAGMA user_version = ${schemaVersion};
        COMMIT;
      `)
      return
    }
    if (version === 2) {
      db.exec(`BEGIN; ${versionsTable} PRAGMA user_version = ${schemaVersion}; COMMIT;`)
      return
    }
    db.exec(`
      CREATE TABLE updates (
        id INTEGER PRIMARY KEY,
        doc TEXT NOT NULL,
        data BLOB NOT NULL,
        stored_at INTEGER
      );
      CREATE INDEX updates_by_doc ON updates (doc, id);
      ${tombstonesTable}
      ${versionsTable}
      PRAGMA user_version = ${schemaVersion};
    `)
  } finally {
    db.close()
  }
}

/** Errors from the worker, rebuilt: better-sqlite3's SqliteError keeps its class and SQLite code. */
const deserialize = ({ name, message, code }: SerializedError): Error => {
  if (name === 'SqliteError' && code !== undefined) return new Database.SqliteError(message, code)
  const error = new Error(message)
  error.name = name
  return code === undefined ? error : Object.assign(error, { code })
}

/**
 * Internal: the key under which a store holds its worker thread. Neither
 * `@concord/relay/sqlite` nor any other entry point exports it; the relay's
 * own tests end the worker through it as a crash would (test/sqliteWorkerCrash.ts).
 */
export const sqliteStoreWorker: unique symbol = Symbol('concord.sqliteStoreWorker')

export class SqliteDocStore implements DocStore {
  readonly #worker: Worker
  readonly #replies = new Map<number, PendingReply>()
  #nextRequestId = 0
  readonly #appends = new GroupCommit<Append>((batch) => this.#commitAppends(batch))
  #closed = false
  /** True once close() has asked the worker to end: its exit is then expected. */
  #ending = false
  /** Set once the worker has died; every call rejects with it from then on. */
  #failure: StoreWorkerExitedError | undefined

  /**
   * Opens (or creates) the database file at `path` and starts the worker
   * thread that serves it. Throws if the file is not a Concord store or
   * cannot be opened (checked here, synchronously, before the worker starts).
   */
  constructor(path: string, options: SqliteDocStoreOptions = {}) {
    prepareFile(path)
    const workerData: SqliteWorkerData = {
      path,
      synchronous: options.synchronous === 'normal' ? 'NORMAL' : 'FULL',
      ...(options.maxDatabaseBytes !== undefined && { maxDatabaseBytes: options.maxDatabaseBytes }),
    }
    this.#worker = startWorker(workerData)
    this.#worker.on('message', (reply: SqliteWorkerReply) => this.#settle(reply))
    this.#worker.on('error', (error) => this.#fail(undefined, error))
    this.#worker.on('exit', (exitCode) => {
      if (!this.#ending) this.#fail(exitCode)
    })
    // Only pending requests keep the process alive, as the synchronous store never did.
    this.#worker.unref()
  }

  /** Internal: see `sqliteStoreWorker`. */
  get [sqliteStoreWorker](): Worker {
    return this.#worker
  }

  async load(doc: string): Promise<Uint8Array[]> {
    this.#assertUsable()
    this.#appends.commitNow()
    const log = await this.#request<PackedBytes | 'deleted'>({ kind: 'load', doc })
    if (log === 'deleted') throw new DocumentDeletedError(doc)
    return unpackBytes(log)
  }

  append(doc: string, update: Uint8Array, events?: readonly OutboxEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError())
    if (this.#failure) return Promise.reject(this.#failure)
    return this.#appends.add({ doc, update, events })
  }

  /**
   * Reads the log in the worker, merges it here, then has the worker replace
   * exactly the rows it read, in one transaction. Appends made meanwhile are
   * other rows and stay; if another compaction removed a row first, this one
   * changes nothing and resolves 0. Rejects with StoreClosedError if the
   * store is closed while it merges (the log is left as it was).
   */
  async compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    this.#assertUsable()
    this.#appends.commitNow()
    const rows = await this.#request<LogRows>({ kind: 'read', doc })
    if (rows.ids.length < 2) return 0
    const merged = packBytes([merge(unpackBytes(rows.data))])
    this.#assertUsable()
    const replaced = await this.#request<boolean>({ kind: 'replace', doc, ids: rows.ids, merged }, [merged.bytes])
    return replaced ? rows.ids.length : 0
  }

  /**
   * Has the worker replace the document's rows by `state` in one transaction, without reading them:
   * the appends made before the call are sent first, so their rows are among those replaced.
   */
  async compactTo(doc: string, state: Uint8Array): Promise<number> {
    this.#assertUsable()
    this.#appends.commitNow()
    const merged = packBytes([state])
    return this.#request<number>({ kind: 'replaceAll', doc, merged }, [merged.bytes])
  }

  async list({ prefix = '', after, limit }: DocumentQuery): Promise<StoredDocumentInfo[]> {
    this.#assertUsable()
    this.#appends.commitNow()
    return this.#request<StoredDocumentInfo[]>({ kind: 'list', prefix, after, limit })
  }

  async remove(doc: string, events?: readonly OutboxEvent[]): Promise<void> {
    this.#assertUsable()
    this.#appends.commitNow()
    await this.#request<undefined>({ kind: 'remove', doc, ...(events && { events }) })
  }

  claimOutbox(claim: OutboxClaim): Promise<ClaimedOutboxEvent[]> {
    return this.#outbox({ op: 'claim', claim })
  }

  async ackOutbox(ids: readonly string[]): Promise<void> {
    await this.#outbox({ op: 'ack', ids })
  }

  async retryOutbox(eventId: string, at: number): Promise<void> {
    await this.#outbox({ op: 'retry', eventId, at })
  }

  outboxStats(): Promise<OutboxStats> {
    return this.#outbox({ op: 'stats' })
  }

  async #outbox<T>(call: OutboxCall): Promise<T> {
    this.#assertUsable()
    return this.#request<T>({ kind: 'outbox', call })
  }

  async quarantine(doc: string, update: Uint8Array, reason: string): Promise<void> {
    this.#assertUsable()
    const digest = createHash('sha256').update(update).digest('hex')
    const data = packBytes([update])
    await this.#request<undefined>({ kind: 'quarantine', doc, digest, data, reason }, [data.bytes])
  }

  async contest(doc: string, clients: readonly number[]): Promise<void> {
    this.#assertUsable()
    if (clients.length > 0) await this.#request<undefined>({ kind: 'contest', doc, clients: [...clients] })
  }

  async loadContested(doc: string): Promise<number[]> {
    this.#assertUsable()
    return this.#request<number[]>({ kind: 'loadContested', doc })
  }

  async loadQuarantined(doc: string): Promise<QuarantinedUpdate[]> {
    this.#assertUsable()
    const rows = await this.#request<QuarantinedRows>({ kind: 'loadQuarantined', doc })
    const updates = unpackBytes(rows.data)
    return rows.reasons.map((reason, i) => ({ update: updates[i]!, reason }))
  }

  async saveVersion(doc: string, version: NewVersion): Promise<boolean> {
    this.#assertUsable()
    const { state, ...info } = version
    const row: VersionRow = { ...info, authors: [...info.authors], state: packBytes([state]) }
    const saved = await this.#request<boolean | 'deleted'>({ kind: 'saveVersion', doc, version: row }, [
      row.state.bytes,
    ])
    if (saved === 'deleted') throw new DocumentDeletedError(doc)
    return saved
  }

  async listVersions(doc: string, { before, limit }: VersionQuery): Promise<VersionInfo[]> {
    this.#assertUsable()
    const versions = await this.#request<VersionInfo[] | 'deleted'>({ kind: 'listVersions', doc, before, limit })
    if (versions === 'deleted') throw new DocumentDeletedError(doc)
    return versions
  }

  async loadVersion(doc: string, id: string): Promise<(VersionInfo & { readonly state: Uint8Array }) | undefined> {
    this.#assertUsable()
    const row = await this.#request<VersionRow | 'deleted' | undefined>({ kind: 'loadVersion', doc, versionId: id })
    if (row === 'deleted') throw new DocumentDeletedError(doc)
    if (!row) return undefined
    const state = unpackBytes(row.state)[0]!
    return { ...row, bytes: state.byteLength, state }
  }

  async deleteVersions(doc: string, ids: readonly string[]): Promise<number> {
    this.#assertUsable()
    if (ids.length === 0) return 0
    return this.#request<number>({ kind: 'deleteVersions', doc, versionIds: [...ids] })
  }

  async ping(): Promise<void> {
    this.#assertUsable()
    await this.#request<undefined>({ kind: 'ping' })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#failure) return
    this.#appends.commitNow()
    try {
      await this.#request<undefined>({ kind: 'close' })
    } finally {
      this.#ending = true
      await this.#worker.terminate()
    }
  }

  /** Sends a batch of appends to the worker, committed there in one transaction. */
  async #commitAppends(batch: Append[]): Promise<Map<number, DocumentDeletedError>> {
    if (this.#failure) throw this.#failure
    const updates = packBytes(batch.map((append) => append.update))
    // One document's changed events of one batch are one row (joined here, not row by row in SQL).
    const events = coalesceEvents(batch.flatMap((append) => append.events ?? []))
    const refused = await this.#request<number[]>(
      { kind: 'append', docs: batch.map((append) => append.doc), updates, ...(events.length > 0 && { events }) },
      [updates.bytes],
    )
    return new Map(refused.map((i) => [i, new DocumentDeletedError(batch[i]!.doc)]))
  }

  #request<T>(request: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure)
    const id = this.#nextRequestId++
    return new Promise<T>((resolve, reject) => {
      this.#replies.set(id, { resolve: resolve as (value: unknown) => void, reject })
      if (this.#replies.size === 1) this.#worker.ref()
      this.#worker.postMessage({ ...request, id }, transfer)
    })
  }

  #settle(reply: SqliteWorkerReply): void {
    const pending = this.#replies.get(reply.id)
    if (!pending) return
    this.#replies.delete(reply.id)
    if (this.#replies.size === 0) this.#worker.unref()
    if (reply.ok) pending.resolve(reply.value)
    else pending.reject(deserialize(reply.error))
  }

  #fail(exitCode: number | undefined, cause?: unknown): void {
    if (this.#failure) return
    this.#failure = new StoreWorkerExitedError(exitCode, cause === undefined ? undefined : { cause })
    const replies = [...this.#replies.values()]
    this.#replies.clear()
    for (const pending of replies) pending.reject(this.#failure)
    this.#appends.commitNow()
  }

  #assertUsable(): void {
    if (this.#closed) throw new StoreClosedError()
    if (this.#failure) throw this.#failure
  }
}
