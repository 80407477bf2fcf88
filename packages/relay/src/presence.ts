/**
 * Owns the awareness (presence) of one document on the relay: the latest
 * state of every Yjs client id, which peer introduced it, and the removal
 * update to send when that peer leaves. Presence is relayed, never stored,
 * and cannot be forged: a client id belongs to the peer that introduced it
 * until that peer leaves, and only its owner may change or clear it.
 *
 * A claim on a client id that another peer owns is held back, not applied:
 * when that owner leaves, the latest such claim takes its place at once,
 * which is how a client that reconnected while its old socket looked open
 * gets its presence back (the room probes the old socket meanwhile).
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate, ProtocolError, type AwarenessEntry } from '@concord/protocol'

interface ClientPresence {
  readonly clock: number
  readonly state: string
  readonly owner: object
}

interface HeldClaim<Peer> {
  readonly from: Peer
  readonly clock: number
  readonly state: string
}

const removed = 'null'

export class Presence<Peer extends object> {
  readonly #clients = new Map<number, ClientPresence>()
  /** The latest claim on each client id owned by another peer; at most one per client id. */
  readonly #held = new Map<number, HeldClaim<Peer>>()

  constructor(
    /** A state longer than this (in UTF-8 bytes) is dropped. */
    private readonly maxStateBytes = 1024,
  ) {}

  /**
   * Records an awareness update from `from`, and returns what to forward: the
   * same bytes when every entry was accepted, an update of the accepted
   * entries when some were dropped (another peer's client id, a state over
   * the size cap), undefined when none was. A state for another peer's
   * client id is held back (see above), and `onContested` is told that
   * peer. Throws a ProtocolError with code `invalidUpdate` when it does not
   * decode or a state is not JSON, so that no client is ever sent presence
   * it would throw on.
   */
  apply(from: Peer, update: Uint8Array, onContested?: (owner: Peer) => void): Uint8Array | undefined {
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
    const accepted = entries.filter(({ clientId, clock, state }) => {
      const valid =
        Buffer.byteLength(state) <= this.maxStateBytes &&
        // The removal sent when its owner leaves needs a clock one higher, still a safe integer.
        clock < Number.MAX_SAFE_INTEGER
      const owner = this.#clients.get(clientId)?.owner as Peer | undefined
      if (owner === undefined || owner === from) return valid
      if (valid && state !== removed) {
        this.#held.set(clientId, { from, clock, state })
        onContested?.(owner)
      }
      return false
    })
    for (const { clientId, clock, state } of accepted) {
      const current = this.#clients.get(clientId)
      // The rule of y-protocols' applyAwarenessUpdate: a newer clock wins, and a removal wins a tie.
      if (current && (clock < current.clock || (clock === current.clock && state !== removed))) continue
      if (state === removed) this.#clients.delete(clientId)
      else this.#clients.set(clientId, { clock, state, owner: from })
    }
    if (accepted.length === entries.length) return update
    return accepted.length > 0 ? encodeAwarenessUpdate(accepted) : undefined
  }

  /**
   * Forgets every client `peer` introduced, and its held claims; a client
   * someone else claimed meanwhile passes to them. Returns the update that
   * tells everyone else, or undefined if there is none.
   */
  removeOwnedBy(peer: Peer): Uint8Array | undefined {
    for (const [clientId, claim] of this.#held) if (claim.from === peer) this.#held.delete(clientId)
    const changes: AwarenessEntry[] = []
    for (const [clientId, presence] of this.#clients) {
      if (presence.owner !== peer) continue
      this.#clients.delete(clientId)
      const claim = this.#held.get(clientId)
      this.#held.delete(clientId)
      // The others drop the old state on a clock one past it: only a claim beyond that would show.
      if (claim && claim.clock > presence.clock + 1) {
        this.#clients.set(clientId, { clock: claim.clock, state: claim.state, owner: claim.from })
        changes.push({ clientId, clock: claim.clock, state: claim.state })
      } else {
        changes.push({ clientId, clock: presence.clock + 1, state: removed })
      }
    }
    return changes.length > 0 ? encodeAwarenessUpdate(changes) : undefined
  }

  /**
   * Every present client's state (or only those whose owner passes `ownedBy`), as one update for a
   * newcomer; undefined when nobody is present.
   */
  snapshot(ownedBy?: (owner: Peer) => boolean): Uint8Array | undefined {
    const entries = [...this.#clients]
      .filter(([, { owner }]) => !ownedBy || ownedBy(owner as Peer))
      .map(([clientId, { clock, state }]) => ({ clientId, clock, state }))
    return entries.length > 0 ? encodeAwarenessUpdate(entries) : undefined
  }
}
