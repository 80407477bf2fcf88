/**
 * Owns the webhook outbox of a PostgresDocStore: its table, the CTE that
 * records a group commit's events in the commit's own statement, and the
 * claim that lets several relays share the table. A claim takes due rows
 * with FOR UPDATE SKIP LOCKED and leases them (their `due_at` moves past the
 * lease), so each event goes to one relay at a time; a relay that dies with
 * a lease loses it when the lease runs out, and another relay claims it.
 * Times are the relays' clocks, in ms since the epoch.
 */
import type pg from 'pg'
import {
  coalesceEvents,
  type ClaimedOutboxEvent,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxStats,
  type WebhookEventType,
} from './webhookOutbox.js'

/** Runs inside the store's schema transaction, after its tables. */
export const outboxSchema = `
  CREATE TABLE IF NOT EXISTS concord_webhook_outbox (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    doc TEXT NOT NULL,
    time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    subjects JSONB NOT NULL,
    state_vector JSONB NOT NULL,
    due_at BIGINT NOT NULL,
    deliver_by BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS concord_webhook_outbox_by_due ON concord_webhook_outbox (due_at, seq);
  CREATE UNIQUE INDEX IF NOT EXISTS concord_webhook_outbox_waiting_changed ON concord_webhook_outbox (doc)
    WHERE type = 'document.changed' AND attempts = 0;
  CREATE TABLE IF NOT EXISTS concord_webhook_clocks (doc TEXT PRIMARY KEY, clocks JSONB NOT NULL);
`

/**
 * Two JSON objects of clocks (client: clock) as one, the larger clock of each client. Each event
 * carries only the clocks of the clients it wrote; concord_webhook_clocks gathers a document's, and a
 * changed event's first claim copies them into it (its state vector: the document after the event).
 */
const maxClocks = (a: string, b: string): string => `
  (SELECT COALESCE(jsonb_object_agg(c.key, c.clock), '{}'::jsonb)
   FROM (SELECT key, MAX(value::bigint) AS clock
         FROM (SELECT * FROM jsonb_each_text(${a}) UNION ALL SELECT * FROM jsonb_each_text(${b})) AS kv
         GROUP BY key) AS c)`

/**
 * Inserts the events of `$events` (a JSON array) whose document is not in `${skip}`; a
 * document.changed event joins the document's waiting one (subjects united, clocks the larger, due
 * later but never after the waiting one's deliver_by). Events of one statement must be coalesced
 * first: one statement cannot update a row twice.
 */
const insertEvents = (events: string, skip: string): string => `
  INSERT INTO concord_webhook_outbox AS o
    (id, type, doc, time, created_at, subjects, state_vector, due_at, deliver_by)
  SELECT e.id, e.type, e.doc, e.time, e.created_at, e.subjects, e.state_vector, e.deliver_after, e.deliver_by
  FROM jsonb_to_recordset(${events}::jsonb) AS e(
    id text, type text, doc text, time bigint, created_at bigint, subjects jsonb, state_vector jsonb,
    deliver_after bigint, deliver_by bigint, n bigint)
  WHERE e.doc NOT IN (${skip})
  ORDER BY n
  ON CONFLICT (doc) WHERE type = 'document.changed' AND attempts = 0 DO UPDATE SET
    time = GREATEST(o.time, EXCLUDED.time),
    subjects = (SELECT COALESCE(jsonb_agg(DISTINCT s.value), '[]'::jsonb)
                FROM jsonb_array_elements(o.subjects || EXCLUDED.subjects) AS s),
    state_vector = ${maxClocks('o.state_vector', 'EXCLUDED.state_vector')},
    due_at = LEAST(o.deliver_by, GREATEST(o.due_at, EXCLUDED.due_at))`

/** Joins the clocks of the changed events of `$events` into their documents' (one event per document). */
const reachClocks = (events: string, skip: string): string => `
  INSERT INTO concord_webhook_clocks AS k (doc, clocks)
  SELECT e.doc, e.state_vector
  FROM jsonb_to_recordset(${events}::jsonb) AS e(doc text, type text, state_vector jsonb, n bigint)
  WHERE e.type = 'document.changed' AND e.doc NOT IN (${skip})
  ORDER BY n
  ON CONFLICT (doc) DO UPDATE SET clocks = ${maxClocks('k.clocks', 'EXCLUDED.clocks')}`

/** CTEs for the group commit's WITH: record `$events`, except those of the documents the CTE `removed` names. */
export const recordEventsCte = (events: string): string =>
  `, outbox AS (${insertEvents(events, 'SELECT doc FROM removed')}), clocks AS (${reachClocks(events, 'SELECT doc FROM removed')})`

/** The statements a removal of `$1` runs in its transaction, after the tombstone. */
export const removalStatements = {
  /** With `$2` the events (none but document.deleted, in practice). */
  record: insertEvents('$2', 'SELECT NULL::text WHERE $1::text IS NULL'),
  /** The waiting changed event keeps the document's clocks, which are then forgotten. */
  freeze: `UPDATE concord_webhook_outbox o SET state_vector = k.clocks FROM concord_webhook_clocks k
           WHERE k.doc = $1 AND o.doc = $1 AND o.type = 'document.changed' AND o.attempts = 0`,
  forget: 'DELETE FROM concord_webhook_clocks WHERE doc = $1',
} as const

/**
 * `events` as the `$events` parameter: coalesced, and in the order of their documents' names, so that
 * two relays' commits lock the rows of their documents in one order (never a deadlock).
 */
export const eventsParameter = (events: readonly OutboxEvent[]): string =>
  JSON.stringify(
    coalesceEvents(events)
      .sort((a, b) => (a.doc < b.doc ? -1 : a.doc > b.doc ? 1 : 0))
      .map((event, n) => ({
        n,
        id: event.id,
        type: event.type,
        doc: event.doc,
        time: event.time,
        created_at: event.createdAt,
        subjects: event.subjects,
        state_vector: event.stateVector,
        deliver_after: event.deliverAfter,
        deliver_by: event.deliverBy,
      })),
  )

interface ClaimedRow {
  readonly id: string
  readonly type: WebhookEventType
  readonly doc: string
  readonly time: string
  readonly created_at: string
  readonly subjects: string[]
  readonly state_vector: Record<string, number | string>
  readonly attempts: number
}

export const claimOutbox = async (
  pool: pg.Pool,
  { now, leaseMs, limit }: OutboxClaim,
): Promise<ClaimedOutboxEvent[]> => {
  const { rows } = await pool.query<ClaimedRow>(
    `UPDATE concord_webhook_outbox o SET due_at = $2, attempts = o.attempts + 1,
       state_vector = CASE WHEN o.type = 'document.changed' AND o.attempts = 0
         THEN COALESCE((SELECT k.clocks FROM concord_webhook_clocks k WHERE k.doc = o.doc), o.state_vector)
         ELSE o.state_vector END
     FROM (SELECT seq FROM concord_webhook_outbox WHERE due_at <= $1 ORDER BY due_at, seq LIMIT $3
           FOR UPDATE SKIP LOCKED) AS due
     WHERE o.seq = due.seq
     RETURNING o.id, o.type, o.doc, o.time, o.created_at, o.subjects, o.state_vector, o.attempts, o.seq`,
    [now, now + leaseMs, limit],
  )
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    doc: row.doc,
    time: Number(row.time),
    createdAt: Number(row.created_at),
    subjects: row.subjects,
    stateVector: Object.fromEntries(Object.entries(row.state_vector).map(([client, clock]) => [client, Number(clock)])),
    attempts: row.attempts,
  }))
}

export const ackOutbox = async (pool: pg.Pool, ids: readonly string[]): Promise<void> => {
  await pool.query('DELETE FROM concord_webhook_outbox WHERE id = ANY($1::text[])', [ids])
}

export const retryOutbox = async (pool: pg.Pool, id: string, at: number): Promise<void> => {
  await pool.query('UPDATE concord_webhook_outbox SET due_at = $2 WHERE id = $1', [id, at])
}

export const outboxStats = async (pool: pg.Pool): Promise<OutboxStats> => {
  const { rows } = await pool.query<{ depth: string; oldest: string | null }>(
    'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM concord_webhook_outbox',
  )
  const { depth, oldest } = rows[0]!
  return { depth: Number(depth), oldestAt: oldest === null ? undefined : Number(oldest) }
}
