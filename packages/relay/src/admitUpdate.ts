/**
 * Owns what the relay keeps of an update a client sends: only what the
 * document does not hold yet, and nothing that contradicts it. Content for
 * clocks the document holds is compared with what is held, clock by clock:
 * a repeat that says the same (the same content at the same place, deleted
 * content aside) adds nothing and is cut off; one that says something else
 * is refused. Dropping it unread, as a Y.Doc would, would let anyone who
 * read a state vector squat a client's next clocks: that client's real edit
 * would then be taken for a repeat and acknowledged, yet stored nowhere.
 */
import { ProtocolError } from '@concord/protocol'
import * as Y from 'yjs'
import { findConflict } from './contentConflicts.js'
import type { KnownClocks } from './knownClocks.js'
import { inspectUpdate, type ClockRange } from './yjsUpdates.js'

export interface AdmittedUpdate {
  /** The bytes to store and forward: the update as received, or what is left of it. */
  readonly update: Uint8Array
  /** The clocks `update` holds structs for. */
  readonly ranges: readonly ClockRange[]
}

/**
 * What of `received` to keep, or undefined when it adds nothing (or `held`
 * could not tell what the document holds). `held` gives the document's
 * merged state; it is called only when the update shares clocks with it.
 * Throws a ProtocolError with code `invalidUpdate` when the update is
 * invalid, could not be integrated, or contradicts the document. Does not
 * change `known`.
 */
export const admitUpdate = (
  received: Uint8Array,
  known: KnownClocks,
  held: () => Uint8Array | undefined,
): AdmittedUpdate | undefined => {
  let inspected = inspectUpdate(received)
  if (inspected.empty) return undefined
  // Own the bytes: a decoded frame is a view into the socket's buffer.
  let update: Uint8Array = new Uint8Array(received)
  const shared = known.held(inspected.ranges)
  if (shared.length === 0) return { update, ranges: inspected.ranges }
  const state = held()
  if (!state) return undefined
  const conflict = findConflict(update, state, shared)
  if (conflict) {
    throw new ProtocolError('invalidUpdate', `the update contradicts what the document holds at ${conflict}`)
  }
  // A repeat: keep what is new. What is held past a gap stays, and agrees with what is held.
  if (inspected.ranges.some(({ client, start }) => start < known.next(client))) {
    update = Y.diffUpdate(update, Y.encodeStateVector(known.stateVectorFor(inspected.ranges)))
    // What is left of an update that passed: only the clocks need telling.
    inspected = inspectUpdate(update, true)
    if (inspected.empty) return undefined
  }
  return { update, ranges: inspected.ranges }
}
