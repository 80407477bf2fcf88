/**
 * Owns the contract between the relay and durable storage. A document is an
 * append-only log of Yjs updates (binary, as clients sent them); compaction
 * replaces a prefix of the log with one equivalent update. Implementations
 * are small and boring; `test/docStoreConformance.ts` is the suite every one
 * of them must pass.
 */
import type { ClaimedOutboxEvent, OutboxClaim, OutboxEvent, OutboxStats } from './webhookOutbox.js'

/** What `list` says of one document. */
export interface StoredDocumentInfo {
  readonly name: string
  /** The bytes of its stored log. */
  readonly bytes: number
  /** When its last update was stored (ms since the epoch); undefined where the store does not know. */
  readonly updatedAt: number | undefined
}

export interface DocumentQuery {
  /** Only names that start with this. Default: every name. */
  readonly prefix?: string
  /** Only names after this one, in the store's order (the last name of the previous page). */
  readonly after?: string
  readonly limit: number
}

export interface QuarantinedUpdate {
  readonly update: Uint8Array
  readonly reason: string
}

/** What a store keeps of one version of a document (see `saveVersion`), but its state. */
export interface VersionInfo {
  /** Unique within the document; the store's key with the document's name. */
  readonly id: string
  /** When it was taken (ms since the epoch). */
  readonly createdAt: number
  /** Named versions have one; automatic versions have none. */
  readonly label: string | undefined
  /** The token subjects who wrote since the previous version, as the relay saw them. */
  readonly authors: readonly string[]
  /** A version that a restore produced: the id of the version it restored. */
  readonly restoredFrom: string | undefined
  /** The byte length of its state. */
  readonly bytes: number
}

/** A version to store: what VersionInfo says of it, and the merged state of the document then (a Yjs update). */
export interface NewVersion extends Omit<VersionInfo, 'bytes'> {
  readonly state: Uint8Array
}

export interface VersionQuery {
  /** Only versions stored before this one (the id of the last version of the previous page). */
  readonly before?: string
  readonly limit: number
}

/** Where an append landed in its document's log, for a store that can tell (PostgreSQL). */
export interface StoredRow {
  /** The row's id (a decimal integer): ids grow in the document's log order. */
  readonly id: string
  /** The id of the row just before it in the document's log when it was appended; undefined for the first. */
  readonly previous: string | undefined
}

/** One row of a document's log, with its id (see StoredRow). */
export interface LogRow {
  readonly id: string
  readonly update: Uint8Array
}

export interface DocStore {
  /**
   * Every stored update of `doc`, oldest first; empty for a new document.
   * Sees every append made before the call. Rejects when the store cannot
   * read: the relay then refuses the document rather than serve a blank.
   */
  load(doc: string): Promise<Uint8Array[]>
  // A store with `remove` rejects `load` and `append` of a removed document with DocumentDeletedError.

  /**
   * Appends one update to the log of `doc`. The promise resolves once the
   * update is durable (the transaction holding it has committed) and rejects
   * if it could not be stored. Appends resolve in the order they were made;
   * appends made in one event-loop turn may share one transaction.
   * `events`, for a store with an outbox (see webhookOutbox.ts), are recorded
   * in the same transaction as the update, and only if it is stored.
   * A store with `loadRows` resolves with where the update landed (see StoredRow): a relay of a
   * cluster that knows every row before it then needs no read to check it (see storedFirst.ts).
   */
  append(doc: string, update: Uint8Array, events?: readonly OutboxEvent[]): Promise<StoredRow | void>

  /**
   * Optional, with the rows `append` resolves with: the rows of `doc` after the row of id `after`
   * (every row without it), oldest first. Sees every append made before the call; with `through`,
   * the id of a row whose append has resolved, only the rows up to it for sure, and need not wait
   * for the appends still in flight (a relay of a cluster reading its own row back, see
   * storedFirst.ts). Rejects with DocumentDeletedError for a removed document. A compaction keeps
   * the id of the last row it merged, so rows after `after` may hold content of rows before it.
   */
  loadRows?(doc: string, after?: string, through?: string): Promise<LogRow[]>

  /**
   * Atomically replaces the log of `doc` by `merge(log)`, one update
   * equivalent to all of it. An append that races the compaction is never
   * lost. Resolves with the number of updates merged (0 when there was
   * nothing to merge, or when another compaction or a removal changed the
   * log meanwhile). A store with `loadRows` gives `merge` the id of the last
   * row it read too, and replaces only the rows up to it: the rows appended
   * while it reads and merges stay after it.
   */
  compact(doc: string, merge: (updates: Uint8Array[], lastRow?: string) => Uint8Array): Promise<number>

  /**
   * Optional: as `compact`, with the merged update given instead of computed from the log, which
   * is then never read: atomically replaces the rows of every append made before the call by
   * `state`, which the caller guarantees holds all of their content (a relay alone gives its room's
   * merged state, which holds everything its log holds). Rows of appends made after the call stay
   * after it. Resolves with the number of rows replaced (0 when there were fewer than two). Without
   * it the relay compacts through `compact`, which reads the whole log to merge it.
   */
  compactTo?(doc: string, state: Uint8Array): Promise<number>

  /**
   * Resolves once the store answers a trivial read; rejects when it cannot
   * (closed, unreachable, broken). Readiness checks call it; it changes nothing.
   */
  ping(): Promise<void>

  /**
   * The documents that have stored updates, ordered by name (by UTF-8 bytes,
   * the same order every call), at most `limit` of them. Optional: without
   * it, the HTTP API cannot list documents (501).
   */
  list?(query: DocumentQuery): Promise<StoredDocumentInfo[]>

  /**
   * Deletes everything stored for `doc` and keeps a tombstone, in one
   * transaction: from then on `load` and `append` of `doc` reject with a
   * DocumentDeletedError, and `list` leaves it out. Optional: without it, the
   * relay cannot delete documents. `events` as for `append`, in the same transaction.
   */
  remove?(doc: string, events?: readonly OutboxEvent[]): Promise<void>

  /**
   * Optional: keeps `update` of `doc` aside, outside its log, with the reason. The relay calls it for
   * a stored update it will not serve (one that contradicts updates stored before it, or that no
   * merge can take), before a compaction drops it from the log. Resolves once durable; keeping the
   * same bytes aside twice keeps one copy. Stores without it lose such updates at the next compaction.
   */
  quarantine?(doc: string, update: Uint8Array, reason: string): Promise<void>

  /** Optional, with `quarantine`: what was kept aside for `doc`, oldest first. */
  loadQuarantined?(doc: string): Promise<QuarantinedUpdate[]>

  /**
   * Optional, with `loadContested`: records that the relay refused content of these Yjs clients of
   * `doc` past the clocks the document holds (see admitUpdate.ts), so that what they write next is
   * refused after a restart too: it would wait forever, or land next to other content under those
   * ids. Recording a client twice keeps one. Resolves once durable; `remove` forgets them.
   */
  contest?(doc: string, clients: readonly number[]): Promise<void>

  /** Optional, with `contest`: the clients recorded for `doc`, in no particular order. */
  loadContested?(doc: string): Promise<number[]>

  /**
   * Optional, with `listVersions` and `loadVersion`: stores a version of `doc` beside its log (see
   * documentHistory.ts). Resolves true once durable, or false, changing nothing, when `doc` has a
   * version of that id already (two relays of a cluster that take the same version store it once).
   * Compaction never touches versions; `remove` deletes them with the document. Rejects with
   * DocumentDeletedError for a removed document.
   */
  saveVersion?(doc: string, version: NewVersion): Promise<boolean>

  /** The versions of `doc`, newest first (in the order they were stored), a page at a time. */
  listVersions?(doc: string, query: VersionQuery): Promise<VersionInfo[]>

  /** One version of `doc` with its state; undefined when `doc` has no version of that id. */
  loadVersion?(doc: string, id: string): Promise<(VersionInfo & { readonly state: Uint8Array }) | undefined>

  /**
   * Optional, beside the three above: deletes the versions of `doc` with these ids, in one
   * transaction, and resolves with how many it deleted. Ids it does not have (deleted already, by
   * another relay that thins at the same time, say) are no error, and neither is a removed
   * document (its versions are gone already): deleting is idempotent. Retention calls it (see
   * versionThinning.ts).
   */
  deleteVersions?(doc: string, ids: readonly string[]): Promise<number>

  /**
   * Optional, all four or none: the webhook outbox (see DocStoreOutbox in webhookOutbox.ts). A
   * store without them ignores the `events` of `append` and `remove`, and the relay cannot send webhooks.
   */
  claimOutbox?(claim: OutboxClaim): Promise<ClaimedOutboxEvent[]>
  /**
   * Optional, with the four above: records `events` without an update (none for a removed document).
   * In cluster mode a relay records the clocks of an update with it only once the log is known to
   * serve it (see storedFirst.ts); without this method they are recorded in the append's transaction.
   */
  recordEvents?(events: readonly OutboxEvent[]): Promise<void>
  ackOutbox?(ids: readonly string[]): Promise<void>
  retryOutbox?(id: string, at: number): Promise<void>
  outboxStats?(): Promise<OutboxStats>

  /** Commits every pending append, then releases the store. */
  close(): Promise<void>
}
