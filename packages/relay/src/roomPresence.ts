/**
 * Owns who owns the presence of one room's document: its local peers, and, in cluster mode, each
 * other relay, for the clients that reached the document through it (see Presence, which keeps
 * the states and holds back the claims on a client another owner holds).
 */
import { Presence } from './presence.js'
import type { RoomPeer } from './roomPeer.js'

/** Owner of the presence that came from the clients of another relay. */
class RemoteRelay {
  constructor(readonly id: string) {}
}

export class RoomPresence {
  readonly #presence: Presence<RoomPeer | RemoteRelay>
  readonly #remoteRelays = new Map<string, RemoteRelay>()

  constructor(maxAwarenessStateBytes: number) {
    this.#presence = new Presence(maxAwarenessStateBytes)
  }

  /** Applies `peer`'s awareness `update`; returns what to relay. A local owner of a client it claims is probed. */
  fromPeer(peer: RoomPeer, update: Uint8Array): Uint8Array | undefined {
    return this.#presence.apply(peer, update, (owner) => {
      if (!(owner instanceof RemoteRelay)) owner.probe?.()
    })
  }

  /** Applies an awareness `update` from the clients of relay `relayId`; returns what to relay. */
  fromRelay(relayId: string, update: Uint8Array): Uint8Array | undefined {
    let owner = this.#remoteRelays.get(relayId)
    if (!owner) this.#remoteRelays.set(relayId, (owner = new RemoteRelay(relayId)))
    return this.#presence.apply(owner, update)
  }

  /** `peer` left: the removal update of what it owned, if anything. */
  removePeer(peer: RoomPeer): Uint8Array | undefined {
    return this.#presence.removeOwnedBy(peer)
  }

  /** Relay `relayId` is gone: the removal update of what its clients owned, if anything. */
  removeRelay(relayId: string): Uint8Array | undefined {
    const owner = this.#remoteRelays.get(relayId)
    if (!owner) return undefined
    this.#remoteRelays.delete(relayId)
    return this.#presence.removeOwnedBy(owner)
  }

  /** Every state held, as one awareness update. */
  snapshot(): Uint8Array | undefined {
    return this.#presence.snapshot()
  }

  /** The states of the local peers' clients only. */
  localSnapshot(): Uint8Array | undefined {
    return this.#presence.snapshot((owner) => !(owner instanceof RemoteRelay))
  }
}
