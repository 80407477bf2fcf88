/**
 * Owns what the relay keeps of an update a client sends: only what the
 * document does not hold yet, and nothing that contradicts it. Content for
 * clocks the document holds is dropped when it sits below a client's first
 * missing clock (a repeat, or a forgery that would make replicas differ, as
 * a Y.Doc that holds those clocks would); content for clocks held past a gap
 * is rarer, and compared with what is held.
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
 * merged state; it is called only when the update shares clocks with it past
 * a gap. Throws a ProtocolError with code `invalidUpdate` when the update is
 * invalid or contradicts the document. Does not change `known`.
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
  if (inspected.ranges.some(({ client, start }) => start < known.next(client))) {
    update = Y.diffUpdate(update, Y.encodeStateVector(known.stateVectorFor(inspected.ranges)))
    inspected = inspectUpdate(update)
    if (inspected.empty) return undefined
  }
  const shared = known.held(inspected.ranges)
  if (shared.length > 0) {
    const state = held()
    if (!state) return undefined
    const conflict = findConflict(update, state, shared)
    if (conflict) {
      throw new ProtocolError('invalidUpdate', `the update contradicts what the document holds at ${conflict}`)
    }
  }
  return { update, ranges: inspected.ranges }
}
