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
import type { WaitingStructs } from './waitingStructs.js'
import { inspectUpdate, type ClockRange } from './yjsUpdates.js'

export interface AdmittedUpdate {
  /** The bytes to store and forward: the update as received, or what is left of it. */
  readonly update: Uint8Array
  /** The clocks `update` holds structs for. */
  readonly ranges: readonly ClockRange[]
  /** The structs of `update`, decoded. */
  readonly structs: readonly (Y.Item | Y.GC | Y.Skip)[]
  /** With a context: what waits once the document holds `update` too. */
  readonly waiting?: WaitingStructs
}

/** What admission knows of a document beyond its clocks; the room keeps it from update to update. */
export interface AdmissionContext {
  /** Clients whose clocks past those the document holds the relay refused: nothing will fill them. */
  readonly contested: Set<number>
  /** The structs the document holds that wait for clocks it lacks. */
  readonly waiting: WaitingStructs
  /** Told of the first clock where a refused update contradicts the document. */
  readonly contradicted?: (client: number, clock: number) => void
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
 * With a `context` (the room's, kept from update to update), every client
 * with clocks in a refused update that the document does not hold becomes
 * contested: the refused one goes on writing past those clocks, under that
 * client id or (Yjs changes a doc's client id when another writes under it)
 * a new one, and so do the other tabs that share its edits. An update that
 * needs clocks the document does not hold of a contested client (it starts
 * past them, or its items refer to them), or that would wait on itself
 * through structs that wait (see waitingStructs.ts), is refused too:
 * stored, it could never be integrated anywhere, yet it would be
 * acknowledged. The room asks the store to keep the contested clients
 * (DocStore.contest) and reads them back when it loads, so a restart or an
 * unload does not admit what builds on refused clocks; a store without
 * `contest` relearns them only from the next refused update.
 */
export const admitUpdate = (
  received: Uint8Array,
  known: KnownClocks,
  held: () => Uint8Array | undefined,
  recent: () => readonly Uint8Array[] = () => [],
  context?: AdmissionContext,
): AdmittedUpdate | undefined => {
  try {
    return admit(received, known, held, recent, context)
  } catch (error) {
    if (context && error instanceof ProtocolError && error.code === 'invalidUpdate') {
      contest(received, known, context.contested)
    }
    throw error
  }
}

const admit = (
  received: Uint8Array,
  known: KnownClocks,
  held: () => Uint8Array | undefined,
  recent: () => readonly Uint8Array[],
  context: AdmissionContext | undefined,
): AdmittedUpdate | undefined => {
  let inspected = inspectUpdate(received)
  if (inspected.empty) return undefined
  // Own the bytes: a decoded frame is a view into the socket's buffer.
  let update: Uint8Array = copyBytes(received)
  const shared = known.held(inspected.ranges)
  if (shared.length > 0 && !agreesWithRecent(update, recent(), shared)) {
    const state = held()
    if (!state) return undefined
    const conflict = findConflict(update, state, shared)
    if (conflict) {
      const [client, clock] = conflict.split(':').map(Number) as [number, number]
      context?.contested.add(client)
      context?.contradicted?.(client, clock)
      throw new ProtocolError('invalidUpdate', `the update contradicts what the document holds at ${conflict}`)
    }
  }
  // A repeat: keep what is new. What is held past a gap stays, and agrees with what is held.
  if (shared.length > 0 && inspected.ranges.some(({ client, start }) => start < known.next(client))) {
    update = Y.diffUpdate(update, Y.encodeStateVector(known.stateVectorFor(inspected.ranges)))
    // What is left of an update that passed: only the clocks need telling.
    inspected = inspectUpdate(update, true)
    if (inspected.empty) return undefined
  }
  const { ranges, structs } = inspected
  const waiting = context?.waiting.with(structs, ranges, known, context.contested)
  return { update, ranges, structs, ...(waiting && { waiting }) }
}
