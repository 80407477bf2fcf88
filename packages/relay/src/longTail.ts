/**
 * Owns the one rule for when a document's tail (the updates added since it was last merged) is
 * long enough to merge into the rest: at least `minUpdates` updates, and at least a share (a
 * quarter unless told) of the merged document's bytes. A merge re-encodes the whole document, so merging every N updates
 * would cost more per update the larger the document grew; the quarter keeps that cost in
 * proportion to what was added. The relay applies it to its in-memory state (DocumentState) and,
 * with a share of one (a compaction merges on the relay's thread what it has just merged in
 * memory), to the store's log (Room's compaction).
 */

export interface Tail {
  /** How many updates are waiting to be merged (as the caller counts them). */
  readonly updates: number
  /** Their size, in bytes. */
  readonly bytes: number
}

export const isLongTail = (tail: Tail, mergedBytes: number, minUpdates: number, share = 1 / 4): boolean =>
  tail.updates >= minUpdates && tail.bytes >= mergedBytes * share
