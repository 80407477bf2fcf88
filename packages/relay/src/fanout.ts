/**
 * Owns the contract between a relay and the other relays that serve the
 * same documents (cluster mode). A fan-out only carries news between
 * relays: it is trusted for speed, never for completeness. Every update it
 * carries is already durable in the shared store, so a relay that may have
 * missed something (a gap, a reconnect) reloads the document from the store
 * instead. A deletion is news too, sent once the tombstone is durable: a
 * relay that misses it finds the tombstone at its next load or append.
 * Without a fan-out (the default) a relay serves its documents alone.
 * `redisFanout.ts` is the implementation over Redis pub/sub.
 */
import type { StoredRow } from './docStore.js'

/** A loaded document on this relay, as the fan-out sees it: where news from other relays goes. */
export interface FanoutMember {
  /**
   * An update relay `relayId` received and stored: apply it in memory and forward it, never store it
   * again. `relayId` names the sender in logs; `row`, where the store's log holds it, when the
   * sender knows (the log serves it: see storedFirst.ts).
   */
  applyRemote(update: Uint8Array, relayId?: string, row?: StoredRow): void
  /** An awareness update from clients of relay `relayId`. */
  applyRemoteAwareness(relayId: string, update: Uint8Array): void
  /** Relay `relayId` stopped (its heartbeat expired): drop the presence of its clients. */
  removeRelay(relayId: string): void
  /** News may have been lost: reload the document from the store and send clients what they lack. */
  resync(): void
  /** The presence of this relay's own clients, for a relay that just joined the document. */
  localPresence(): Uint8Array | undefined
  /**
   * Another relay says it deleted the document: once the store shows the tombstone, refuse every
   * peer (4404) and unload. Without this news a relay learns of it at its next load or append.
   */
  applyRemoteDeletion(): void
}

/** One document's membership in the fan-out. */
export interface FanoutLink {
  /**
   * Resolves once news of the document is being received (or the fan-out is
   * unreachable, in which case it resyncs the member when it is back). A
   * member loads the document from the store only after this, so that no
   * update falls between the load and the first message.
   */
  readonly ready: Promise<void>
  /**
   * Tells the other relays about an update; call it only once the update is durable (in cluster
   * mode: once the store is known to serve it), with its row when the store told it.
   */
  publishUpdate(update: Uint8Array, row?: StoredRow): void
  publishAwareness(update: Uint8Array): void
  /** Stops receiving news of the document. Idempotent. */
  leave(): void
}

export interface Fanout {
  /** This relay's id in the cluster. */
  readonly relayId: string
  /** Starts receiving news of `doc` for `member`. One member per document at a time. */
  join(doc: string, member: FanoutMember): FanoutLink
  /**
   * Tells the other relays that `doc` was deleted; call it only once its tombstone is durable.
   * Needs no membership: the deleting relay may not have the document loaded.
   */
  publishDeletion(doc: string): void
  /** Resolves when the fan-out's server answers; rejects otherwise (for readiness checks). */
  ping(): Promise<void>
  /** Leaves every document and disconnects. */
  close(): Promise<void>
}
