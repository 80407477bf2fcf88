/**
 * Owns the awareness (presence) of one document on the relay: the latest
 * state of every Yjs client id, which peer introduced it, and the removal
 * update to send when that peer leaves. Presence is relayed, never stored.
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, ProtocolError, type AwarenessEntry } from '@concord/protocol'

interface ClientPresence {
  readonly clock: number
  readonly state: string
  readonly owner: object
}

const removed = 'null'

export class Presence<Peer extends object> {
  readonly #clients = new Map<number, ClientPresence>()

  /**
   * Records an awareness update from `from`. Throws a ProtocolError with code
   * `invalidUpdate` when it does not decode or a state is not JSON, so that
   * no client is ever sent presence it would throw on.
   */
  apply(from: Peer, update: Uint8Array): void {
    let entries: AwarenessEntry[]
    try {
      entries = decodeAwarenessUpdate(update)
    } catch (error) {
      throw new ProtocolError('invalidUpdate', 'the awareness update does not decode', { cause: error })
    }
    for (const entry of entries) {
      try {
        JSON.parse(entry.state)
      } catch (error) {
        throw new ProtocolError('invalidUpdate', `the awareness state of client ${entry.clientId} is not JSON`, {
          cause: error,
        })
      }
    }
    for (const { clientId, clock, state } of entries) {
      const current = this.#clients.get(clientId)
      // The rule of y-protocols' applyAwarenessUpdate: a newer clock wins, and a removal wins a tie.
      if (current && (clock < current.clock || (clock === current.clock && state !== removed))) continue
      if (state === removed) this.#clients.delete(clientId)
      else this.#clients.set(clientId, { clock, state, owner: from })
    }
  }

  /** Forgets every client `peer` introduced; returns the update that tells everyone else, or undefined if there is none. */
  removeOwnedBy(peer: Peer): Uint8Array | undefined {
    const removals: AwarenessEntry[] = []
    for (const [clientId, presence] of this.#clients) {
      if (presence.owner !== peer) continue
      this.#clients.delete(clientId)
      removals.push({ clientId, clock: presence.clock + 1, state: removed })
    }
    return removals.length > 0 ? encodeAwarenessUpdate(removals) : undefined
  }

  /** Every present client's state, as one update for a newcomer; undefined when nobody is present. */
  snapshot(): Uint8Array | undefined {
    if (this.#clients.size === 0) return undefined
    return encodeAwarenessUpdate([...this.#clients].map(([clientId, { clock, state }]) => ({ clientId, clock, state })))
  }
}
