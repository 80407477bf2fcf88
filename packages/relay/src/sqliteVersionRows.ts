/**
 * Owns the `versions` table of a SqliteDocStore, inside its worker thread: the requests that save,
 * list, load and delete versions, and the SQL that answers them. A version's key is its document and id
 * (UNIQUE), so a second save of one id changes nothing; `seq` orders a document's versions.
 */
import type Database from 'better-sqlite3'
import type { VersionInfo } from './docStore.js'
import { packBytes, unpackBytes, type PackedBytes } from './packedBytes.js'

/** Schema version 3 of the file adds this table. */
export const versionsTable = `
  CREATE TABLE versions (
    seq INTEGER PRIMARY KEY,
    doc TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    label TEXT,
    authors TEXT NOT NULL,
    restored_from TEXT,
    state BLOB NOT NULL,
    UNIQUE (doc, id)
  );
`

/** A version as it crosses to the worker: its state packed, so that its bytes are transferred, not copied. */
export interface VersionRow extends Omit<VersionInfo, 'bytes'> {
  readonly state: PackedBytes
}

export type VersionRequest =
  /** Answers true once stored, false when the document has a version of that id; 'deleted' for a removed one. */
  | { readonly kind: 'saveVersion'; readonly id: number; readonly doc: string; readonly version: VersionRow }
  /** Answers VersionInfo[], newest first; 'deleted' for a removed document. */
  | {
      readonly kind: 'listVersions'
      readonly id: number
      readonly doc: string
      readonly before: string | undefined
      readonly limit: number
    }
  /** Answers the VersionRow, undefined when there is none of that id; 'deleted' for a removed document. */
  | { readonly kind: 'loadVersion'; readonly id: number; readonly doc: string; readonly versionId: string }
  /** Answers how many of these versions it deleted (a removed document has none left). */
  | { readonly kind: 'deleteVersions'; readonly id: number; readonly doc: string; readonly versionIds: string[] }

export type VersionAnswer = boolean | number | VersionInfo[] | VersionRow | 'deleted' | undefined

interface Row {
  id: string
  created_at: number
  label: string | null
  authors: string
  restored_from: string | null
}

const infoOf = (row: Row, bytes: number): VersionInfo => ({
  id: row.id,
  createdAt: row.created_at,
  label: row.label ?? undefined,
  authors: JSON.parse(row.authors) as string[],
  restoredFrom: row.restored_from ?? undefined,
  bytes,
})

/** The handler of version requests over `db`, whose tombstones say which documents are removed. */
export const versionRows = (db: Database.Database): ((request: VersionRequest) => VersionAnswer) => {
  const isRemoved = db.prepare<[string], { doc: string }>('SELECT doc FROM tombstones WHERE doc = ?')
  const insert = db.prepare<[string, string, number, string | null, string, string | null, Buffer]>(
    `INSERT OR IGNORE INTO versions (doc, id, created_at, label, authors, restored_from, state)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  )
  const columns = 'id, created_at, label, authors, restored_from, LENGTH(state) AS bytes'
  const newest = db.prepare<[string, number], Row & { bytes: number }>(
    `SELECT ${columns} FROM versions WHERE doc = ? ORDER BY seq DESC LIMIT ?`,
  )
  const older = db.prepare<[string, string, string, number], Row & { bytes: number }>(
    `SELECT ${columns} FROM versions
     WHERE doc = ? AND seq < (SELECT seq FROM versions WHERE doc = ? AND id = ?) ORDER BY seq DESC LIMIT ?`,
  )
  const one = db.prepare<[string, string], Row & { state: Buffer }>(
    'SELECT id, created_at, label, authors, restored_from, state FROM versions WHERE doc = ? AND id = ?',
  )
  const save = db.transaction((doc: string, version: VersionRow): boolean | 'deleted' => {
    if (isRemoved.get(doc)) return 'deleted'
    const state = unpackBytes(version.state)[0]!
    const stored = insert.run(
      doc,
      version.id,
      version.createdAt,
      version.label ?? null,
      JSON.stringify(version.authors),
      version.restoredFrom ?? null,
      Buffer.from(state.buffer, state.byteOffset, state.byteLength),
    )
    return stored.changes === 1
  })
  const deleteOne = db.prepare<[string, string]>('DELETE FROM versions WHERE doc = ? AND id = ?')
  const deleteSome = db.transaction((doc: string, ids: string[]): number =>
    ids.reduce((deleted, id) => deleted + deleteOne.run(doc, id).changes, 0),
  )
  return (request) => {
    if (request.kind === 'saveVersion') return save(request.doc, request.version)
    if (request.kind === 'deleteVersions') return deleteSome(request.doc, request.versionIds)
    if (isRemoved.get(request.doc)) return 'deleted'
    if (request.kind === 'listVersions') {
      const rows =
        request.before === undefined
          ? newest.all(request.doc, request.limit)
          : older.all(request.doc, request.doc, request.before, request.limit)
      return rows.map((row) => infoOf(row, row.bytes))
    }
    const row = one.get(request.doc, request.versionId)
    if (!row) return undefined
    const { bytes: _bytes, ...info } = infoOf(row, row.state.byteLength)
    return { ...info, state: packBytes([row.state]) }
  }
}
