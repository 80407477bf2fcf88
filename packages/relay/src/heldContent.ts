/**
 * Owns the update that names content a peer and the relay both hold without
 * carrying it: for each client, one GC struct over the clocks below both
 * state vectors. A replica that applies it changes nothing (it holds those
 * clocks already, so Yjs skips them), while a stock y-websocket provider
 * reads its content ids and counts its own updates among them as saved.
 * That covers what an echo cannot: an update the relay stored whose echo
 * never arrived (the socket dropped first), or content a replica loaded from
 * its own storage before it connected, which its sync step 2 never resends.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

/** The GC struct's info byte in a Yjs v1 update (content ref 0, no origins). */
const gcInfo = 0

/**
 * The update naming every clock below both state vectors, or undefined when
 * they share none. `relayStateVector` is only read when the peer's holds something.
 */
export const heldContent = (
  peerStateVector: Uint8Array,
  relayStateVector: () => Uint8Array,
): Uint8Array | undefined => {
  const peer = Y.decodeStateVector(peerStateVector)
  if (peer.size === 0) return undefined
  const relay = Y.decodeStateVector(relayStateVector())
  const held: Array<[client: number, clocks: number]> = []
  for (const [client, clock] of peer) {
    const both = Math.min(clock, relay.get(client) ?? 0)
    if (both > 0) held.push([client, both])
  }
  if (held.length === 0) return undefined
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, held.length)
  for (const [client, clocks] of held) {
    encoding.writeVarUint(encoder, 1) // structs of this client
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, 0) // first clock
    encoding.writeUint8(encoder, gcInfo)
    encoding.writeVarUint(encoder, clocks)
  }
  encoding.writeVarUint(encoder, 0) // an empty delete set
  return encoding.toUint8Array(encoder)
}
