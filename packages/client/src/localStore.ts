/**
 * Owns the contract between the client and the storage on its device. Each
 * document is a snapshot (everything compacted so far, merged) plus a log of
 * updates since; a local update stays marked pending until the relay has
 * acknowledged it as durable, so a reload knows what still has to reach the
 * relay. `test/localStoreConformance.ts` is the suite every implementation
 * must pass.
 */

export interface StoredUpdate {
  /** Increases with every append, across all documents of the store. */
  readonly id: number
  readonly update: Uint8Array
  /** A local update the relay has not acknowledged yet. */
  readonly pending: boolean
}

export interface StoredDocument {
  /** Everything compacted so far, as one update; undefined before the first compaction. */
  readonly snapshot: Uint8Array | undefined
  /** The updates appended since, oldest first. */
  readonly updates: readonly StoredUpdate[]
}

export interface LocalStore {
  /** The stored state of `doc`; empty for a document never stored. */
  load(doc: string): Promise<StoredDocument>

  /**
   * Stores one update of `doc`, in its own transaction; resolves with its id
   * once that transaction has committed. `pending` is true for a local update
   * that must still reach the relay, false for one that came from elsewhere.
   */
  append(doc: string, update: Uint8Array, pending: boolean): Promise<number>

  /** Marks the given pending updates of `doc` as acknowledged by the relay. Unknown ids are ignored. */
  acknowledge(doc: string, ids: readonly number[]): Promise<void>

  /**
   * Replaces the snapshot and every update that is not pending by
   * `merge([snapshot, ...updates])`, in one transaction, so a crash at any
   * point leaves either the old state or the new one. Pending updates stay as
   * they are. Resolves with the number of updates merged.
   */
  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number>

  /**
   * Replaces the pending updates `ids` of `doc` by one pending update,
   * `merge(their updates, oldest first)`, stored under the greatest of the
   * ids, in one transaction. Resolves false and changes nothing when fewer
   * than two ids are given, or when any of them is not a pending update of
   * `doc`. Acknowledging that greatest id later acknowledges the merged update.
   */
  mergePending(doc: string, ids: readonly number[], merge: (updates: Uint8Array[]) => Uint8Array): Promise<boolean>

  /** Deletes everything stored for `doc`. */
  remove(doc: string): Promise<void>

  close(): Promise<void>
}
