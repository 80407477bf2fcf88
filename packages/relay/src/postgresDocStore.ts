/**
 * Owns the shared DocStore for cluster mode: one PostgreSQL table that every
 * relay appends to. Appends made while a commit is in flight are committed
 * together in the next one (group commit, see groupCommit.ts; one statement,
 * so one transaction: postgresAppendBatch.ts), and only then do their promises resolve:
 * an acknowledged update survives the relay and, with PostgreSQL's fsync,
 * the machine.
 * Appends take a transaction-scoped advisory lock per document, so a
 * document's rows commit in the order of their ids. Compaction may run on
 * several relays at once for one document: it reads and merges without that
 * lock, then replaces only the rows it read, by id, under it, and only if
 * they are all still there (postgresCompaction.ts), so an append that lands
 * meanwhile survives and two compactions never merge twice.
 */
import { createHash } from 'node:crypto'
import pg from 'pg'
import { bufferView } from './bytes.js'
import type {
  DocStore,
  DocumentQuery,
  LogRow,
  StoredRow,
  NewVersion,
  QuarantinedUpdate,
  StoredDocumentInfo,
  VersionInfo,
  VersionQuery,
} from './docStore.js'
import { DocumentDeletedError, StoreClosedError } from './errors.js'
import { GroupCommit, type Committed } from './groupCommit.js'
import {
  deleteVersionRows,
  listVersionRows,
  loadVersionRow,
  saveVersionRow,
  versionsSchema,
} from './postgresVersionRows.js'
import { appendBatchSchema, appendBatchStatement, type AppendBatchRow } from './postgresAppendBatch.js'
import { compactionSchema, compactionStatement } from './postgresCompaction.js'
import * as outbox from './postgresOutbox.js'
import type { ClaimedOutboxEvent, OutboxClaim, OutboxEvent, OutboxStats } from './webhookOutbox.js'

export interface PostgresDocStoreOptions {
  /** Connections in the pool. Default: 10. */
  readonly maxConnections?: number
  /**
   * Errors of pooled connections (PostgreSQL restarted, say), idle or held for a transaction; the
   * pool replaces them, and a call that was using one rejects. Default: ignored.
   */
  readonly onError?: (error: Error) => void
  /**
   * A new connection (or a wait for a free one in the pool) that takes longer than this fails, so a
   * PostgreSQL that is down or unreachable rejects calls instead of queueing them. Default: 5 s.
   */
  readonly connectionTimeoutMs?: number
  /**
   * A statement that runs longer than this is cancelled by PostgreSQL (statement_timeout), and the
   * client gives up on an answer that does not come within it plus a second (a server that hangs).
   * Default: 10 s.
   */
  readonly statementTimeoutMs?: number
}

export const postgresDefaults = { maxConnections: 10, connectionTimeoutMs: 5_000, statementTimeoutMs: 10_000 } as const

interface Append {
  readonly doc: string
  readonly update: Buffer
  readonly events: readonly OutboxEvent[] | undefined
}

/** Only one relay creates the schema at a time (CREATE TABLE IF NOT EXISTS races otherwise). */
const schemaLockKey = 0x636f6e63 // "conc"

const schema = `
  CREATE TABLE IF NOT EXISTS concord_updates (
    id BIGSERIAL PRIMARY KEY,
    doc TEXT NOT NULL,
    data BYTEA NOT NULL
  );
  CREATE INDEX IF NOT EXISTS concord_updates_by_doc ON concord_updates (doc, id);
  ALTER TABLE concord_updates ADD COLUMN IF NOT EXISTS stored_at TIMESTAMPTZ DEFAULT now();
  CREATE TABLE IF NOT EXISTS concord_tombstones (
    doc TEXT PRIMARY KEY,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS concord_quarantined_updates (
    id BIGSERIAL,
    doc TEXT NOT NULL,
    digest TEXT NOT NULL,
    data BYTEA NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (doc, digest)
  );
  CREATE TABLE IF NOT EXISTS concord_contested_clients (
    doc TEXT NOT NULL,
    client BIGINT NOT NULL,
    PRIMARY KEY (doc, client)
  );
  ${versionsSchema}
`

/**
 * A connection out of the pool for a transaction. pg-pool listens for a connection's errors only
 * while it is idle: one lost while checked out (PostgreSQL restarted mid-transaction) would emit an
 * `error` event no one hears, and crash the process. Its queries reject anyway; the event goes to
 * `onError` until the connection is released.
 */
const checkOut = async (
  pool: pg.Pool,
  onError: ((error: Error) => void) | undefined,
): Promise<{ client: pg.PoolClient; release: () => void }> => {
  const client = await pool.connect()
  const listener = (error: Error): void => onError?.(error)
  client.on('error', listener)
  return {
    client,
    release: () => {
      client.off('error', listener)
      client.release()
    },
  }
}

export class PostgresDocStore implements DocStore {
  readonly #pool: pg.Pool
  readonly #appends = new GroupCommit<Append, StoredRow>((batch) => this.#commitAppends(batch))
  #closed = false

  readonly #onError: ((error: Error) => void) | undefined

  private constructor(pool: pg.Pool, onError: ((error: Error) => void) | undefined) {
    this.#pool = pool
    this.#onError = onError
  }

  /** Connects to `url` (postgres://user:password@host:port/database) and creates the table if it is missing. */
  static async open(url: string, options: PostgresDocStoreOptions = {}): Promise<PostgresDocStore> {
    const statementTimeoutMs = options.statementTimeoutMs ?? postgresDefaults.statementTimeoutMs
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? postgresDefaults.maxConnections,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? postgresDefaults.connectionTimeoutMs,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + 1_000,
      // A connection to a server that went away unseen (a dropped network) is noticed.
      keepAlive: true,
    })
    pool.on('error', (error) => options.onError?.(error))
    try {
      const { client, release } = await checkOut(pool, options.onError)
      try {
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock($1)', [schemaLockKey])
        await client.query(schema)
        await client.query(outbox.outboxSchema)
        await client.query(appendBatchSchema)
        await client.query(compactionSchema)
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        release()
      }
    } catch (error) {
      await pool.end()
      throw error
    }
    return new PostgresDocStore(pool, options.onError)
  }

  async load(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    await this.#flushed()
    // One statement, one snapshot: the tombstone and the log are read together.
    const { rows } = await this.#pool.query<{ data: Buffer | null }>(
      `SELECT NULL::bytea AS data FROM concord_tombstones WHERE doc = $1
       UNION ALL (SELECT data FROM concord_updates WHERE doc = $1 ORDER BY id)`,
      [doc],
    )
    if (rows.some((row) => row.data === null)) throw new DocumentDeletedError(doc)
    return rows.map((row) => row.data!)
  }

  async loadRows(doc: string, after?: string, through?: string): Promise<LogRow[]> {
    this.#assertOpen()
    // The row `through` and every row of the document before it are committed (see
    // postgresAppendBatch.ts): nothing to wait for. Otherwise the appends made before the call.
    if (through === undefined) await this.#flushed()
    // Ids as bigint (pg hands them over as decimal strings), so that they are ordered as numbers.
    const { rows } = await this.#pool.query<{ id: string | null; data: Buffer }>(
      `SELECT NULL::bigint AS id, NULL::bytea AS data FROM concord_tombstones WHERE doc = $1
       UNION ALL (SELECT id, data FROM concord_updates WHERE doc = $1 AND id > $2 ORDER BY id)`,
      [doc, after ?? '0'],
    )
    if (rows.some((row) => row.id === null)) throw new DocumentDeletedError(doc)
    return rows.map((row) => ({ id: row.id!, update: row.data }))
  }

  append(doc: string, update: Uint8Array, events?: readonly OutboxEvent[]): Promise<StoredRow> {
    if (this.#closed) return Promise.reject(new StoreClosedError())
    return this.#appends.add({ doc, update: bufferView(update), events })
  }

  async compact(doc: string, merge: (updates: Uint8Array[], lastRow?: string) => Uint8Array): Promise<number> {
    this.#assertOpen()
    await this.#flushed()
    // Read and merged without the document's lock; the statement that replaces the rows takes it
    // (see postgresCompaction.ts).
    const { rows } = await this.#pool.query<{ id: string; data: Buffer }>(
      'SELECT id, data FROM concord_updates WHERE doc = $1 ORDER BY id',
      [doc],
    )
    const last = rows.at(-1)
    if (!last || rows.length < 2) return 0
    const merged = merge(
      rows.map((row) => row.data),
      last.id,
    )
    const { rows: replaced } = await this.#pool.query<{ replaced: number }>(compactionStatement, [
      doc,
      rows.map((row) => row.id),
      bufferView(merged),
    ])
    return replaced[0]?.replaced ?? 0
  }

  async list({ prefix = '', after, limit }: DocumentQuery): Promise<StoredDocumentInfo[]> {
    this.#assertOpen()
    await this.#flushed()
    // COLLATE "C" orders names by their bytes, as the other stores do, whatever the database's locale.
    const { rows } = await this.#pool.query<{ doc: string; bytes: string; updated: Date | null }>(
      `SELECT doc, SUM(LENGTH(data)) AS bytes, MAX(stored_at) AS updated FROM concord_updates
       WHERE doc COLLATE "C" > $1 AND doc COLLATE "C" >= $2
         AND NOT EXISTS (SELECT 1 FROM concord_tombstones t WHERE t.doc = concord_updates.doc)
       GROUP BY doc ORDER BY doc COLLATE "C" LIMIT $3`,
      [after ?? '', prefix, limit],
    )
    return rows
      .filter((row) => row.doc.startsWith(prefix))
      .map((row) => ({ name: row.doc, bytes: Number(row.bytes), updatedAt: row.updated?.getTime() }))
  }

  async remove(doc: string, events?: readonly OutboxEvent[]): Promise<void> {
    this.#assertOpen()
    await this.#flushed()
    const { client, release } = await checkOut(this.#pool, this.#onError)
    try {
      await client.query('BEGIN')
      // Waits for the appends and the compaction of the document under way (each takes this lock),
      // and a compaction that read the log before finds its rows gone.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [doc])
      await client.query('INSERT INTO concord_tombstones (doc) VALUES ($1) ON CONFLICT DO NOTHING', [doc])
      await client.query('DELETE FROM concord_updates WHERE doc = $1', [doc])
      await client.query('DELETE FROM concord_versions WHERE doc = $1', [doc])
      await client.query('DELETE FROM concord_contested_clients WHERE doc = $1', [doc])
      if (events?.length) await client.query(outbox.removalStatements.record, [doc, outbox.eventsParameter(events)])
      await client.query(outbox.removalStatements.freeze, [doc])
      await client.query(outbox.removalStatements.forget, [doc])
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      release()
    }
  }

  async quarantine(doc: string, update: Uint8Array, reason: string): Promise<void> {
    this.#assertOpen()
    const digest = createHash('sha256').update(update).digest('hex')
    await this.#pool.query(
      `INSERT INTO concord_quarantined_updates (doc, digest, data, reason) VALUES ($1, $2, $3, $4)
       ON CONFLICT (doc, digest) DO NOTHING`,
      [doc, digest, bufferView(update), reason],
    )
  }

  async contest(doc: string, clients: readonly number[]): Promise<void> {
    this.#assertOpen()
    if (clients.length === 0) return
    await this.#pool.query(
      `INSERT INTO concord_contested_clients (doc, client) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`,
      [doc, clients],
    )
  }

  async loadContested(doc: string): Promise<number[]> {
    this.#assertOpen()
    const { rows } = await this.#pool.query<{ client: string }>(
      'SELECT client FROM concord_contested_clients WHERE doc = $1',
      [doc],
    )
    return rows.map((row) => Number(row.client))
  }

  async loadQuarantined(doc: string): Promise<QuarantinedUpdate[]> {
    this.#assertOpen()
    const { rows } = await this.#pool.query<{ data: Buffer; reason: string }>(
      'SELECT data, reason FROM concord_quarantined_updates WHERE doc = $1 ORDER BY id',
      [doc],
    )
    return rows.map((row) => ({ update: row.data, reason: row.reason }))
  }

  async saveVersion(doc: string, version: NewVersion): Promise<boolean> {
    this.#assertOpen()
    return saveVersionRow(this.#pool, doc, version)
  }

  async listVersions(doc: string, query: VersionQuery): Promise<VersionInfo[]> {
    this.#assertOpen()
    return listVersionRows(this.#pool, doc, query)
  }

  async loadVersion(doc: string, id: string): Promise<(VersionInfo & { readonly state: Uint8Array }) | undefined> {
    this.#assertOpen()
    return loadVersionRow(this.#pool, doc, id)
  }

  async deleteVersions(doc: string, ids: readonly string[]): Promise<number> {
    this.#assertOpen()
    return deleteVersionRows(this.#pool, doc, ids)
  }

  claimOutbox(claim: OutboxClaim): Promise<ClaimedOutboxEvent[]> {
    this.#assertOpen()
    return outbox.claimOutbox(this.#pool, claim)
  }

  async recordEvents(events: readonly OutboxEvent[]): Promise<void> {
    this.#assertOpen()
    if (events.length === 0) return
    // The events' documents in one statement, as a group commit records them; none of a removed one.
    await this.#pool.query(
      `WITH removed AS (SELECT doc FROM concord_tombstones WHERE doc = ANY($2::text[]))${outbox.recordEventsCte('$1')}
       SELECT 1`,
      [outbox.eventsParameter(events), [...new Set(events.map((event) => event.doc))]],
    )
  }

  ackOutbox(ids: readonly string[]): Promise<void> {
    this.#assertOpen()
    return outbox.ackOutbox(this.#pool, ids)
  }

  retryOutbox(id: string, at: number): Promise<void> {
    this.#assertOpen()
    return outbox.retryOutbox(this.#pool, id, at)
  }

  outboxStats(): Promise<OutboxStats> {
    this.#assertOpen()
    return outbox.outboxStats(this.#pool)
  }

  /** Resolves when PostgreSQL answers a query; rejects otherwise (for readiness checks). */
  async ping(): Promise<void> {
    this.#assertOpen()
    await this.#pool.query('SELECT 1')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#flushed()
    await this.#pool.end()
  }

  /** Resolves once every append made before the call has settled. */
  async #flushed(): Promise<void> {
    await this.#appends.settled()
  }

  /**
   * Commits a batch of appends in one statement, in its own transaction (see postgresAppendBatch.ts);
   * one batch at a time, so that they resolve in order (the group commit starts the next once this
   * one has settled).
   */
  async #commitAppends(batch: Append[]): Promise<Committed<StoredRow>> {
    // The batch but for removed documents, its webhook events, and the names of those documents.
    const events = batch.flatMap((append) => append.events ?? [])
    const { rows } = await this.#pool.query<AppendBatchRow>(appendBatchStatement, [
      batch.map((append) => append.doc),
      batch.map((append) => append.update),
      events.length > 0 ? outbox.eventsParameter(events) : null,
    ])
    const removed = new Set<string>()
    const previous = new Map<string, string>()
    const ids = new Map<string, bigint[]>()
    for (const row of rows) {
      if (row.kind === 'removed') removed.add(row.doc)
      else if (row.kind === 'before') previous.set(row.doc, row.id!)
      else ids.set(row.doc, [...(ids.get(row.doc) ?? []), BigInt(row.id!)])
    }
    // A document's rows got their ids in the batch's order (INSERT ... ORDER BY n).
    for (const each of ids.values()) each.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const refusals = new Map<number, DocumentDeletedError>()
    const results: StoredRow[] = []
    batch.forEach((append, i) => {
      if (removed.has(append.doc)) {
        refusals.set(i, new DocumentDeletedError(append.doc))
        return
      }
      const id = String(ids.get(append.doc)!.shift()!)
      results[i] = { id, previous: previous.get(append.doc) }
      previous.set(append.doc, id)
    })
    return { refusals, results }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
