/**
 * Owns the one statement that ends a PostgresDocStore's compaction: a function, created with the
 * schema, that takes the document's lock, checks that the rows the compaction read are all still
 * there, and replaces them by the merged update, in the statement's own transaction.
 *
 * The log is read and merged before, without the lock: appends take that lock too (see
 * postgresAppendBatch.ts), and a compaction that held it over its five round trips and the merge
 * held up every append to the document, on every relay: its transaction lasted 20 to 350 ms in
 * the bench's cluster runs (BENCHMARKS.md, "Round 7"). Reading without the lock loses nothing: the
 * rows of a document commit in the order of their ids, so a read that sees a row sees every row
 * before it, and the appends committed since are after the last row read, which this statement
 * leaves alone. What can change meanwhile is a row read: another relay's compaction, or the
 * document's removal, deleted it; the statement then replaces nothing, and the log stays as that
 * one left it.
 */

/** Runs inside the store's schema transaction. `$1` the document, `$2` the ids read (oldest first), `$3` the merged update. */
export const compactionSchema = `
  CREATE OR REPLACE FUNCTION concord_compact(text, bigint[], bytea)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE AS $concord$
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext($1));
    -- A new snapshot: every row deleted before the lock was granted is missing here.
    IF (SELECT count(*) FROM concord_updates WHERE doc = $1 AND id = ANY($2)) <> cardinality($2) THEN
      RETURN 0;
    END IF;
    DELETE FROM concord_updates WHERE doc = $1 AND id = ANY($2[1:cardinality($2) - 1]);
    UPDATE concord_updates SET data = $3 WHERE id = $2[cardinality($2)];
    RETURN cardinality($2);
  END
  $concord$;
`

/** The call, with the three parameters above; answers `replaced`: the rows replaced (0 when one read was gone). */
export const compactionStatement = 'SELECT concord_compact($1::text, $2::bigint[], $3::bytea) AS replaced'
