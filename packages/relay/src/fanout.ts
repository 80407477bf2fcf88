/**
 * Owns the contract between a relay and the other relays that serve the
 * same documents (cluster mode). A fan-out only carries news between
 * relays: it is trusted for speed, never for completeness. Every update it
 * carries is already durable in the shared store, so a relay that may have
 * missed something (a gap, a reconnect) reloads the document from the store
 * instead. Without a fan-out (the default) a relay serves its documents
 * alone. `redisFanout.ts` is the implementation over Redis pub/sub.
 */

/** A loaded document on this relay, as the fan-out sees it: where news from other relays goes. */
export interface FanoutMember {
  /**
   * An update relay `relayId` received and stored: apply it in memory and forward it, never store it
   * again. `relayId` names the sender in logs.
   */
  applyRemote(update: Uint8Array, relayId?: string): void
  /** An awareness update from clients of relay `relayId`. */
  applyRemoteAwareness(relayId: string, update: Uint8Array): void
  /** Relay `relayId` stopped (its heartbeat expired): drop the presence of its clients. */
  removeRelay(relayId: string): void
  /** News may have been lost: reload the document from the store and send clients what they lack. */
  resync(): void
  /** The presence of this relay's own clients, for a relay that just joined the document. */
  localPresence(): Uint8Array | undefined
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
  /** Tells the other relays about an update; call it only once the update is durable. */
  publishUpdate(update: Uint8Array): void
  publishAwareness(update: Uint8Array): void
  /** Stops receiving news of the document. Idempotent. */
  leave(): void
}

export interface Fanout {
  /** This relay's id in the cluster. */
  readonly relayId: string
  /** Starts receiving news of `doc` for `member`. One member per document at a time. */
  join(doc: string, member: FanoutMember): FanoutLink
  /** Resolves when the fan-out's server answers; rejects otherwise (for readiness checks). */
  ping(): Promise<void>
  /** Leaves every document and disconnects. */
  close(): Promise<void>
}
