/**
 * Owns the SQLite connection of a SqliteDocStore, on a thread of its own:
 * better-sqlite3's synchronous calls, and the fsync of every commit, block
 * this thread instead of the relay's event loop. Requests are answered one at
 * a time in the order they were posted, so a load sees every append posted
 * before it. The file's schema was checked by the store before this starts.
 */
import Database from 'better-sqlite3'
import { parentPort, workerData } from 'node:worker_threads'
import { bufferView } from './bytes.js'
import type { StoredDocumentInfo } from './docStore.js'
import { BytesPacker, packBytes, unpackBytes, type PackedBytes } from './packedBytes.js'
import { versionRows, type VersionAnswer, type VersionRequest } from './sqliteVersionRows.js'
import { prepareOutbox } from './sqliteOutbox.js'
import type { ClaimedOutboxEvent, OutboxClaim, OutboxEvent, OutboxStats } from './webhookOutbox.js'

export interface SqliteWorkerData {
  readonly path: string
  readonly synchronous: 'FULL' | 'NORMAL'
  readonly maxDatabaseBytes?: number
}

/** A document's quarantined updates, oldest first. */
export interface QuarantinedRows {
  readonly data: PackedBytes
  readonly reasons: string[]
}

/** The rows of one document's log, as read for a compaction. */
export interface LogRows {
  readonly ids: number[]
  readonly data: PackedBytes
}

/** The webhook outbox's calls (see sqliteOutbox.ts). */
export type OutboxCall =
  | { readonly op: 'claim'; readonly claim: OutboxClaim }
  | { readonly op: 'ack'; readonly ids: readonly string[] }
  | { readonly op: 'retry'; readonly eventId: string; readonly at: number }
  | { readonly op: 'stats' }

export type SqliteWorkerRequest =
  /**
   * One group commit: `docs[i]` gets the i-th packed update, and the outbox `events`, but for those
   * of removed documents. Answers the indexes of the updates not stored because their document was
   * removed.
   */
  | {
      readonly kind: 'append'
      readonly id: number
      readonly docs: string[]
      readonly updates: PackedBytes
      readonly events?: readonly OutboxEvent[]
    }
  /** Answers the document's log, oldest first, packed; `'deleted'` for a removed document. */
  | { readonly kind: 'load'; readonly id: number; readonly doc: string }
  /** Answers LogRows. */
  | { readonly kind: 'read'; readonly id: number; readonly doc: string }
  /**
   * Replaces the rows `ids` (as read) by the one merged update, kept under the
   * last id so that rows appended since stay after it. Answers false, and
   * changes nothing, when one of the rows is gone (another compaction won).
   */
  | {
      readonly kind: 'replace'
      readonly id: number
      readonly doc: string
      readonly ids: number[]
      readonly merged: PackedBytes
    }
  /**
   * Replaces every row of the document by the one merged update, kept under the last id, without
   * reading their data (the index holds the ids). Answers the number of rows replaced, 0 (and
   * nothing changed) when there were fewer than two.
   */
  | { readonly kind: 'replaceAll'; readonly id: number; readonly doc: string; readonly merged: PackedBytes }
  /** Answers StoredDocumentInfo[]. */
  | {
      readonly kind: 'list'
      readonly id: number
      readonly prefix: string
      readonly after: string | undefined
      readonly limit: number
    }
  /** Deletes the document's rows and keeps its tombstone. Answers nothing. */
  | { readonly kind: 'remove'; readonly id: number; readonly doc: string; readonly events?: readonly OutboxEvent[] }
  /** Answers ClaimedOutboxEvent[] for a claim, OutboxStats for stats, nothing for the others. */
  | { readonly kind: 'outbox'; readonly id: number; readonly call: OutboxCall }
  /** Keeps one update aside (once per digest). Answers nothing. */
  | {
      readonly kind: 'quarantine'
      readonly id: number
      readonly doc: string
      readonly digest: string
      readonly data: PackedBytes
      readonly reason: string
    }
  /** Records contested clients of a document (see DocStore.contest). Answers nothing. */
  | { readonly kind: 'contest'; readonly id: number; readonly doc: string; readonly clients: number[] }
  /** Answers the contested clients of a document, number[]. */
  | { readonly kind: 'loadContested'; readonly id: number; readonly doc: string }
  /** Answers QuarantinedRows. */
  | { readonly kind: 'loadQuarantined'; readonly id: number; readonly doc: string }
  | { readonly kind: 'ping'; readonly id: number }
  | { readonly kind: 'close'; readonly id: number }
  | VersionRequest

type Answer =
  | PackedBytes
  | LogRows
  | QuarantinedRows
  | StoredDocumentInfo[]
  | number[]
  | ClaimedOutboxEvent[]
  | OutboxStats
  | 'deleted'
  | boolean
  | number
  | undefined
  | VersionAnswer

export interface SerializedError {
  readonly name: string
  readonly message: string
  readonly code?: string
}

export type SqliteWorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: Answer }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError }

/**
 * SQLite's page cache, in KiB (its default is 2,000). A commit touches a few pages (the last leaf of
 * the log and of its index, per document, and their parents), and a load or compaction reads a
 * document's rows once, in order, where the OS's file cache serves as well: 512 KiB holds the
 * pages commits touch for far more documents than are written at once, for 1.5 MiB less RSS.
 */
const pageCacheKiB = 512

const port = parentPort
if (!port) throw new Error('sqliteStoreWorker.js runs as a worker thread of SqliteDocStore')
const { path, synchronous, maxDatabaseBytes } = workerData as SqliteWorkerData

const db = new Database(path)
db.pragma('journal_mode = WAL')
db.pragma(`synchronous = ${synchronous}`)
db.pragma('busy_timeout = 5000')
db.pragma(`cache_size = -${pageCacheKiB}`)
if (maxDatabaseBytes !== undefined) {
  const pageSize = db.pragma('page_size', { simple: true }) as number
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxDatabaseBytes / pageSize))}`)
}

const insert = db.prepare<[string, Buffer, number]>('INSERT INTO updates (doc, data, stored_at) VALUES (?, ?, ?)')
// Rows as [id, data] tuples, read one at a time (see readLog).
const selectLog = db.prepare<[string], [number, Buffer]>('SELECT id, data FROM updates WHERE doc = ? ORDER BY id').raw()
const deleteRow = db.prepare<[number, string]>('DELETE FROM updates WHERE id = ? AND doc = ?')
const updateRow = db.prepare<[Buffer, number, string]>('UPDATE updates SET data = ? WHERE id = ? AND doc = ?')
const anyRow = db.prepare('SELECT id FROM updates LIMIT 1')
const selectIds = db.prepare<[string], number>('SELECT id FROM updates WHERE doc = ? ORDER BY id').pluck()
// Names compare by their UTF-8 bytes (SQLite's BINARY collation); the prefix is checked on the rows returned,
// which are contiguous from the first name at or after it.
const listRows = db.prepare<[string, string, number], { doc: string; bytes: number; updated: number | null }>(
  `SELECT doc, SUM(LENGTH(data)) AS bytes, MAX(stored_at) AS updated FROM updates
   WHERE doc > ? AND doc >= ? AND doc NOT IN (SELECT doc FROM tombstones) GROUP BY doc ORDER BY doc LIMIT ?`,
)
const isRemoved = db.prepare<[string], { doc: string }>('SELECT doc FROM tombstones WHERE doc = ?')
const addTombstone = db.prepare<[string, number]>('INSERT OR IGNORE INTO tombstones (doc, deleted_at) VALUES (?, ?)')
const deleteLog = db.prepare<[string]>('DELETE FROM updates WHERE doc = ?')

const insertQuarantined = db.prepare<[string, string, Buffer, string]>(
  'INSERT OR IGNORE INTO quarantined_updates (doc, digest, data, reason) VALUES (?, ?, ?, ?)',
)
const selectQuarantined = db.prepare<[string], { data: Buffer; reason: string }>(
  'SELECT data, reason FROM quarantined_updates WHERE doc = ? ORDER BY rowid',
)

const insertContested = db.prepare<[string, number]>(
  'INSERT OR IGNORE INTO contested_clients (doc, client) VALUES (?, ?)',
)
const selectContested = db.prepare<[string], { client: number }>('SELECT client FROM contested_clients WHERE doc = ?')
const deleteContested = db.prepare<[string]>('DELETE FROM contested_clients WHERE doc = ?')
const contestClients = db.transaction((doc: string, clients: number[]) => {
  for (const client of clients) insertContested.run(doc, client)
})

const answerVersionRequest = versionRows(db)

const outbox = prepareOutbox(db)

/** Stores the batch but for the updates of removed documents; returns their indexes. */
const appendBatch = db.transaction(
  (docs: string[], updates: Uint8Array[], events: readonly OutboxEvent[] = []): number[] => {
    const now = Date.now()
    const removed = new Map<string, boolean>()
    const refused: number[] = []
    docs.forEach((doc, i) => {
      let gone = removed.get(doc)
      if (gone === undefined) removed.set(doc, (gone = isRemoved.get(doc) !== undefined))
      if (gone) refused.push(i)
      else insert.run(doc, bufferView(updates[i]!), now)
    })
    outbox.record(events.filter((event) => removed.get(event.doc) === false))
    return refused
  },
)

const deleteVersions = db.prepare<[string]>('DELETE FROM versions WHERE doc = ?')

const removeDocument = db.transaction((doc: string, events: readonly OutboxEvent[] = []) => {
  addTombstone.run(doc, Date.now())
  deleteLog.run(doc)
  deleteVersions.run(doc)
  deleteContested.run(doc)
  outbox.record(events)
  outbox.removed(doc)
})

const callOutbox = (call: OutboxCall): Answer => {
  switch (call.op) {
    case 'claim':
      return outbox.claim(call.claim)
    case 'ack':
      outbox.ack(call.ids)
      return undefined
    case 'retry':
      outbox.retry(call.eventId, call.at)
      return undefined
    case 'stats':
      return outbox.stats()
  }
}

/** Thrown inside the replace transaction to roll it back. */
class RowsGone extends Error {}

const replaceRows = db.transaction((doc: string, ids: number[], merged: Uint8Array) => {
  let found = 0
  for (const id of ids.slice(0, -1)) found += deleteRow.run(id, doc).changes
  found += updateRow.run(bufferView(merged), ids.at(-1)!, doc).changes
  if (found !== ids.length) throw new RowsGone()
})

const replaceAllRows = db.transaction((doc: string, merged: Uint8Array): number => {
  const ids = selectIds.all(doc)
  if (ids.length < 2) return 0
  replaceRows(doc, ids, merged)
  return ids.length
})

/** The log of `doc`, oldest first, packed row by row: no row is kept once it is packed (see BytesPacker). */
const readLog = (doc: string): { ids: number[]; data: PackedBytes } => {
  const ids: number[] = []
  const packer = new BytesPacker()
  for (const [id, data] of selectLog.iterate(doc)) {
    ids.push(id)
    packer.add(data)
  }
  return { ids, data: packer.packed() }
}

const handle = (request: SqliteWorkerRequest): Answer => {
  switch (request.kind) {
    case 'append':
      return appendBatch(request.docs, unpackBytes(request.updates), request.events)
    case 'load':
      if (isRemoved.get(request.doc)) return 'deleted'
      return readLog(request.doc).data
    case 'remove':
      removeDocument(request.doc, request.events)
      return undefined
    case 'outbox':
      return callOutbox(request.call)
    case 'read':
      return readLog(request.doc)
    case 'replace':
      try {
        replaceRows(request.doc, request.ids, unpackBytes(request.merged)[0]!)
        return true
      } catch (error) {
        if (error instanceof RowsGone) return false
        throw error
      }
    case 'replaceAll':
      return replaceAllRows(request.doc, unpackBytes(request.merged)[0]!)
    case 'list':
      return listRows
        .all(request.after ?? '', request.prefix, request.limit)
        .filter((row) => row.doc.startsWith(request.prefix))
        .map((row) => ({ name: row.doc, bytes: row.bytes, updatedAt: row.updated ?? undefined }))
    case 'quarantine':
      insertQuarantined.run(request.doc, request.digest, bufferView(unpackBytes(request.data)[0]!), request.reason)
      return undefined
    case 'contest':
      contestClients(request.doc, request.clients)
      return undefined
    case 'loadContested':
      return selectContested.all(request.doc).map((row) => row.client)
    case 'loadQuarantined': {
      const rows = selectQuarantined.all(request.doc)
      return { data: packBytes(rows.map((row) => row.data)), reasons: rows.map((row) => row.reason) }
    }
    case 'ping':
      // Reads the table itself, so a file that lost it or cannot be read fails here.
      anyRow.get()
      return undefined
    case 'close':
      db.close()
      return undefined
    case 'saveVersion':
    case 'listVersions':
    case 'loadVersion':
    case 'deleteVersions':
      return answerVersionRequest(request)
  }
}

const serialize = (error: unknown): SerializedError => {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const code = (error as { code?: unknown }).code
  return typeof code === 'string'
    ? { name: error.name, message: error.message, code }
    : { name: error.name, message: error.message }
}

const transferablesOf = (value: Answer): ArrayBuffer[] => {
  if (typeof value !== 'object' || Array.isArray(value)) return []
  if ('state' in value) return [value.state.bytes]
  if (!('bytes' in value || 'data' in value)) return []
  return 'bytes' in value ? [value.bytes] : [value.data.bytes]
}

port.on('message', (request: SqliteWorkerRequest) => {
  let value: Answer
  try {
    value = handle(request)
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, error: serialize(error) } satisfies SqliteWorkerReply)
    return
  }
  port.postMessage({ id: request.id, ok: true, value } satisfies SqliteWorkerReply, transferablesOf(value))
})
