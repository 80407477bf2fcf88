/**
 * Owns which clocks each connection was refused as contradicting: a
 * squatter wrote there first, and the document holds the squatter's
 * content under those ids. The refused client goes on writing (under a new
 * client id, once Yjs gives it one) next to its own refused content, and
 * its items name those ids as origins: stored, they would be placed next
 * to the squatter's content instead, perhaps in another type, and be lost
 * where its writer put them, yet acknowledged. Other connections that saw
 * the squatter's content may refer to it rightly: only the refused
 * connection's references are refused. A reconnecting victim sends its
 * refused edits again first, and is told so again before what builds on them.
 */
import * as Y from 'yjs'

type Struct = Y.Item | Y.GC | Y.Skip

const isId = (value: unknown): value is Y.ID =>
  typeof value === 'object' && value !== null && 'client' in value && 'clock' in value

export class RefusedReferences<Peer extends object> {
  /** Per connection: per client, the first clock it was refused as contradicting. */
  readonly #byPeer = new WeakMap<Peer, Map<number, number>>()

  note(peer: Peer, client: number, clock: number): void {
    let refused = this.#byPeer.get(peer)
    if (!refused) this.#byPeer.set(peer, (refused = new Map()))
    refused.set(client, Math.min(refused.get(client) ?? clock, clock))
  }

  /** The first id an item of `structs` refers to that `peer` was refused, as "client:clock"; undefined if none. */
  find(peer: Peer, structs: readonly Struct[]): string | undefined {
    const refused = this.#byPeer.get(peer)
    if (!refused) return undefined
    for (const struct of structs) {
      if (!(struct instanceof Y.Item)) continue
      for (const id of [struct.origin, struct.rightOrigin, struct.parent]) {
        if (!isId(id)) continue
        const first = refused.get(id.client)
        if (first !== undefined && id.clock >= first) return `${id.client}:${id.clock}`
      }
    }
    return undefined
  }
}
