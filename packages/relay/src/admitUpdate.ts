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
import { copyBytes } from './bytes.js'
import { findConflict } from './contentConflicts.js'
import type { KnownClocks } from './knownClocks.js'
import { inspectUpdate, type ClockRange } from './yjsUpdates.js'

export interface AdmittedUpdate {
  /** The bytes to store and forward: the update as received, or what is left of it. */
  readonly update: Uint8Array
  /** The clocks `update` holds structs for. */
  readonly ranges: readonly ClockRange[]
}

/** Whether `holders` (sorted by client, then start) hold every clock of `shared`. */
const covers = (holders: readonly ClockRange[], shared: readonly ClockRange[]): boolean =>
  shared.every(({ client, start, end }) => {
    let from = start
    for (const range of holders) {
      if (range.client !== client || range.start > from || range.end <= from) continue
      from = range.end
      if (from >= end) return true
    }
    return from >= end
  })

/** The clocks of updates the document holds, decoded once each: a repeat may be compared with hundreds. */
const heldRanges = new WeakMap<Uint8Array, readonly ClockRange[]>()
const rangesOf = (update: Uint8Array): readonly ClockRange[] => {
  let ranges = heldRanges.get(update)
  if (!ranges) heldRanges.set(update, (ranges = inspectUpdate(update, true).ranges))
  return ranges
}

/**
 * Whether the updates of `recent` that hold the `shared` clocks hold all of
 * them, and agree with `update` there. Agreeing with them is agreeing with
 * the document, as far as admission can tell: the updates it holds agree
 * with each other where they share ids (admission saw to that), and a
 * delete set they lack could only excuse more. Anything else is for the
 * whole document to tell.
 */
const agreesWithRecent = (
  update: Uint8Array,
  recent: readonly Uint8Array[],
  shared: readonly ClockRange[],
): boolean => {
  const holders: Uint8Array[] = []
  const holderRanges: ClockRange[] = []
  for (const each of recent) {
    const ranges = rangesOf(each)
    if (
      !ranges.some((range) =>
        shared.some((one) => one.client === range.client && one.start < range.end && range.start < one.end),
      )
    )
      continue
    holders.push(each)
    holderRanges.push(...ranges)
  }
  holderRanges.sort((a, b) => a.client - b.client || a.start - b.start)
  if (holders.length === 0 || !covers(holderRanges, shared)) return false
  return findConflict(update, holders.length === 1 ? holders[0]! : Y.mergeUpdates(holders), shared) === undefined
}

/** An id of a contested client that the document does not hold (and never will, from that client). */
const refusedId = (id: Y.ID | null, known: KnownClocks, contested: ReadonlySet<number>): boolean =>
  id !== null && contested.has(id.client) && id.clock >= known.next(id.client)

/**
 * Throws when `update` starts past the clocks the document holds of a
 * contested client, or has an item whose origin, right origin or parent is
 * such a clock. Decodes the update only while some client is contested.
 */
const refuseWhatBuildsOnRefused = (
  update: Uint8Array,
  ranges: readonly ClockRange[],
  known: KnownClocks,
  contested: ReadonlySet<number>,
): void => {
  const refuse = (client: number): never => {
    throw new ProtocolError(
      'invalidUpdate',
      `the update builds on clocks of client ${client} that the relay refused (it holds up to ${known.next(client)})`,
    )
  }
  for (const { client, start } of ranges) if (contested.has(client) && start > known.next(client)) refuse(client)
  for (const struct of Y.decodeUpdate(update).structs) {
    if (!(struct instanceof Y.Item)) continue
    const parent = struct.parent instanceof Y.ID ? struct.parent : null
    for (const id of [struct.origin, struct.rightOrigin, parent])
      if (refusedId(id, known, contested)) refuse(id!.client)
  }
}

/**
 * Marks as contested every client with clocks in `update` that the document
 * does not hold: the update is refused, so those clocks will never be filled
 * from it, and what comes after them can never be integrated.
 */
const contest = (update: Uint8Array, known: KnownClocks, contested: Set<number>): void => {
  let structs: ReturnType<typeof Y.decodeUpdate>['structs']
  try {
    structs = Y.decodeUpdate(update).structs
  } catch {
    return
  }
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue
    const { client, clock } = struct.id
    if (known.firstUnheld(client, clock) < clock + struct.length) contested.add(client)
  }
}

/**
 * What of `received` to keep, or undefined when it adds nothing (or `held`
 * could not tell what the document holds). `held` gives the document's
 * merged state; it is called only when the update shares clocks with it,
 * and then only if `recent` (the updates added lately, each as added) does
 * not hold all of those clocks in agreement: a repeat of a recent update
 * costs a decode of a few small updates, not of the whole document.
 * Throws a ProtocolError with code `invalidUpdate` when the update is
 * invalid, could not be integrated, or contradicts the document. Does not
 * change `known`.
 *
 * `contested` (the room's) collects every client with clocks in a refused
 * update that the document does not hold: the one refused goes on writing
 * past those clocks, under that client id or (Yjs changes a doc's client id
 * when another writes under it) a new one, and so do the other tabs that
 * share its edits, under theirs. An update that starts past the clocks the
 * document holds of a contested client, or whose items refer to such
 * clocks, is refused too: stored, it could never be integrated anywhere,
 * yet it would be acknowledged. The set is not stored: after a restart, the
 * victim's next opening sends its refused edits again, whole, and their
 * refusal contests the same clients before anything built on them comes.
 */
export const admitUpdate = (
  received: Uint8Array,
  known: KnownClocks,
  held: () => Uint8Array | undefined,
  recent: () => readonly Uint8Array[] = () => [],
  contested: Set<number> = new Set(),
): AdmittedUpdate | undefined => {
  try {
    return admit(received, known, held, recent, contested)
  } catch (error) {
    if (error instanceof ProtocolError && error.code === 'invalidUpdate') contest(received, known, contested)
    throw error
  }
}

const admit = (
  received: Uint8Array,
  known: KnownClocks,
  held: () => Uint8Array | undefined,
  recent: () => readonly Uint8Array[],
  contested: Set<number>,
): AdmittedUpdate | undefined => {
  let inspected = inspectUpdate(received)
  if (inspected.empty) return undefined
  if (contested.size > 0) refuseWhatBuildsOnRefused(received, inspected.ranges, known, contested)
  // Own the bytes: a decoded frame is a view into the socket's buffer.
  let update: Uint8Array = copyBytes(received)
  const shared = known.held(inspected.ranges)
  if (shared.length === 0) return { update, ranges: inspected.ranges }
  if (!agreesWithRecent(update, recent(), shared)) {
    const state = held()
    if (!state) return undefined
    const conflict = findConflict(update, state, shared)
    if (conflict) {
      contested.add(Number(conflict.split(':')[0]))
      throw new ProtocolError('invalidUpdate', `the update contradicts what the document holds at ${conflict}`)
    }
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
