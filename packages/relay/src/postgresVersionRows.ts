/**
 * Owns the `concord_versions` table of a PostgresDocStore: the SQL that saves, lists, loads and
 * deletes versions. A version's key is its document and id (UNIQUE), so two relays of a cluster that save
 * the same version store one row; `seq` orders a document's versions. Each call is one statement,
 * so it reads the tombstone and the versions in one snapshot.
 */
import type pg from 'pg'
import type { NewVersion, VersionInfo, VersionQuery } from './docStore.js'
import { DocumentDeletedError } from './errors.js'

export const versionsSchema = `
  CREATE TABLE IF NOT EXISTS concord_versions (
    seq BIGSERIAL PRIMARY KEY,
    doc TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    label TEXT,
    authors TEXT[] NOT NULL,
    restored_from TEXT,
    state BYTEA NOT NULL,
    UNIQUE (doc, id)
  );
`

interface Row {
  removed: boolean
  id: string | null
  created_at: string | null
  label: string | null
  authors: string[] | null
  restored_from: string | null
  bytes: number | null
}

const infoOf = (row: Row): VersionInfo => ({
  id: row.id!,
  createdAt: Number(row.created_at),
  label: row.label ?? undefined,
  authors: row.authors ?? [],
  restoredFrom: row.restored_from ?? undefined,
  bytes: row.bytes ?? 0,
})

/** One row that says whether the document is removed, then its versions (none when it is). */
const withTombstone = (versions: string): string => `
  SELECT EXISTS (SELECT 1 FROM concord_tombstones WHERE doc = $1) AS removed,
    NULL AS id, NULL AS created_at, NULL AS label, NULL::text[] AS authors, NULL AS restored_from,
    NULL::int AS bytes, NULL::bytea AS state, NULL::bigint AS seq
  UNION ALL (${versions})
  ORDER BY seq DESC NULLS FIRST`

const infoColumns = 'false, id, created_at::text, label, authors, restored_from, LENGTH(state)'

export const saveVersionRow = async (pool: pg.Pool, doc: string, version: NewVersion): Promise<boolean> => {
  const { state } = version
  const { rows } = await pool.query<{ removed: boolean; stored: boolean }>(
    `WITH removed AS (SELECT EXISTS (SELECT 1 FROM concord_tombstones WHERE doc = $1) AS removed),
     stored AS (
       INSERT INTO concord_versions (doc, id, created_at, label, authors, restored_from, state)
       SELECT $1, $2, $3, $4, $5, $6, $7 FROM removed WHERE NOT removed
       ON CONFLICT (doc, id) DO NOTHING RETURNING 1
     )
     SELECT (SELECT removed FROM removed) AS removed, EXISTS (SELECT 1 FROM stored) AS stored`,
    [
      doc,
      version.id,
      version.createdAt,
      version.label ?? null,
      [...version.authors],
      version.restoredFrom ?? null,
      Buffer.from(state.buffer, state.byteOffset, state.byteLength),
    ],
  )
  if (rows[0]!.removed) throw new DocumentDeletedError(doc)
  return rows[0]!.stored
}

export const listVersionRows = async (
  pool: pg.Pool,
  doc: string,
  { before, limit }: VersionQuery,
): Promise<VersionInfo[]> => {
  const older = before === undefined ? '' : 'AND seq < (SELECT seq FROM concord_versions WHERE doc = $1 AND id = $3)'
  // The state itself is not read: LENGTH of a BYTEA is known without it.
  const { rows } = await pool.query<Row>(
    withTombstone(
      `SELECT ${infoColumns}, NULL::bytea, seq FROM concord_versions
       WHERE doc = $1 ${older} ORDER BY seq DESC LIMIT $2`,
    ),
    before === undefined ? [doc, limit] : [doc, limit, before],
  )
  if (rows[0]!.removed) throw new DocumentDeletedError(doc)
  return rows.slice(1).map(infoOf)
}

/** Deletes those of `ids` that `doc` has, in one statement; a second call deletes nothing. */
export const deleteVersionRows = async (pool: pg.Pool, doc: string, ids: readonly string[]): Promise<number> => {
  if (ids.length === 0) return 0
  const { rowCount } = await pool.query('DELETE FROM concord_versions WHERE doc = $1 AND id = ANY($2::text[])', [
    doc,
    [...ids],
  ])
  return rowCount ?? 0
}

export const loadVersionRow = async (
  pool: pg.Pool,
  doc: string,
  id: string,
): Promise<(VersionInfo & { readonly state: Uint8Array }) | undefined> => {
  const { rows } = await pool.query<Row & { state: Buffer | null }>(
    withTombstone(`SELECT ${infoColumns}, state, seq FROM concord_versions WHERE doc = $1 AND id = $2`),
    [doc, id],
  )
  if (rows[0]!.removed) throw new DocumentDeletedError(doc)
  const row = rows[1]
  return row && { ...infoOf(row), state: row.state! }
}
