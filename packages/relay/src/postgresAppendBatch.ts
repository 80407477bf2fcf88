/**
 * Owns the one statement a PostgresDocStore's group commit runs: a function, created with the
 * schema, that takes the batch's documents' locks and then inserts the batch, in the statement's
 * own transaction. One round trip per commit instead of four (BEGIN, the locks, the insert,
 * COMMIT), and the locks are held only while PostgreSQL works, never across a round trip to the
 * relay: two relays appending to one document wait on each other for less (BENCHMARKS.md, "Round 5:
 * cluster").
 *
 * Why a function and not one plain statement: a statement reads under the snapshot taken as it
 * starts, before it waits for a lock, so it would miss a row another relay committed while it
 * waited, and say the wrong row was before its own (see StoredRow). A VOLATILE function takes a
 * new snapshot for each of its statements (READ COMMITTED): its insert, run once the locks are
 * held, sees every row committed before them, as the second statement of a transaction does.
 */
import { recordEventsCte } from './postgresOutbox.js'

/**
 * Runs inside the store's schema transaction, after the outbox's tables. `$1` the documents, `$2`
 * their updates (in the batch's order), `$3` the webhook events (see eventsParameter; null for
 * none). Returns each removed document ('removed'), each document's last row before the batch
 * ('before') and each stored row ('stored').
 */
export const appendBatchSchema = `
  CREATE OR REPLACE FUNCTION concord_append_batch(text[], bytea[], jsonb)
  RETURNS TABLE (kind text, doc text, id text)
  LANGUAGE plpgsql VOLATILE AS $concord$
  #variable_conflict use_column
  BEGIN
    -- The appends to one document commit in the order of their ids, relays taking turns: a relay of
    -- a cluster that reads the log after its append committed sees every row before its own (see
    -- storedFirst.ts). In the order of the names, so that two batches never wait on each other.
    PERFORM pg_advisory_xact_lock(hashtext(d.doc_name)) FROM (SELECT DISTINCT unnest($1) AS doc_name ORDER BY 1) d;
    -- A new snapshot: every row committed before the locks were granted is seen here.
    RETURN QUERY
    WITH batch AS (
      SELECT doc, data, n FROM unnest($1, $2) WITH ORDINALITY AS b(doc, data, n)
    ), removed AS (
      SELECT DISTINCT doc FROM batch WHERE EXISTS (SELECT 1 FROM concord_tombstones t WHERE t.doc = batch.doc)
    ), before AS (
      SELECT doc, MAX(id) AS id FROM concord_updates WHERE doc IN (SELECT doc FROM batch) GROUP BY doc
    ), stored AS (
      INSERT INTO concord_updates (doc, data)
      SELECT doc, data FROM batch WHERE doc NOT IN (SELECT doc FROM removed) ORDER BY n
      RETURNING doc, id
    )${recordEventsCte('$3')}
    SELECT 'removed'::text, doc, NULL::text FROM removed
    UNION ALL SELECT 'before'::text, doc, id::text FROM before
    UNION ALL SELECT 'stored'::text, doc, id::text FROM stored;
  END
  $concord$;
`

/** The call, with the three parameters above. */
export const appendBatchStatement = 'SELECT kind, doc, id FROM concord_append_batch($1::text[], $2::bytea[], $3::jsonb)'

export interface AppendBatchRow {
  readonly kind: 'removed' | 'before' | 'stored'
  readonly doc: string
  readonly id: string | null
}
