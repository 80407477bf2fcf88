/**
 * Owns the recovery of a replica whose clocks another writer took (a clock
 * squat). Every reader learns each client's next clocks from the state
 * vector, so a token holder can write other content under this replica's
 * client id X at the clocks its offline edits used. The relay keeps the
 * first content it got for a clock and refuses the other (4422); Yjs can
 * never hold two contents under one id, so this replica would diverge for
 * good and its edits would never be stored.
 *
 * The fork: the edits this device still has to get onto the relay (its
 * pending records in the device store, and those it could not store) move
 * from X at the first taken clock n to a new client id Y, clock c to c - n
 * (./reclaimClocks.ts); the store's pending records are replaced by the
 * moved edits; and the handle gets a new Y.Doc made of what the store holds
 * now, which the relay then fills with its own content under X. The moved
 * edits sit at the same places relative to everything both sides hold, and
 * go to the relay as this replica's pending edits like any other.
 *
 * Y is a function of (X, n): another tab of this device, which holds the
 * same edits and is refused the same way, or this one after a crash in the
 * middle of a fork, moves them to the same ids, so two copies of the moved
 * content are the same items, never two.
 */
import * as Y from 'yjs'
import type { DocHandle } from './docHandle.js'
import type { TakenClocks } from './docSync.js'
import { ConcordError } from './errors.js'
import type { ForkStart } from './forkStart.js'
import type { LocalLog } from './localLog.js'
import type { LocalStore } from './localStore.js'
import { heldClockEnd, movedClockEnd, reclaimClocks, reclaimedClientId, type ClockMove } from './reclaimClocks.js'

/** What the new doc starts from once the edits moved. */
interface MovedEdits {
  /** What the device store holds now (the relay's content and the moved edits), for the new doc at once. */
  readonly seed: readonly Uint8Array[]
  /** Moved edits the store did not take: the new log records them as its own. */
  readonly handover: readonly Uint8Array[]
  /** Where the moved clocks end (exclusive). */
  readonly end: number
}

export interface ForkOptions {
  readonly id: string
  readonly handle: DocHandle
  readonly log: LocalLog
  /** What `startFork` did at once, before this module loaded. */
  readonly start: ForkStart
  readonly taken: TakenClocks
  /**
   * Gives the handle its new parts around a new doc that starts from `seed` (what the device store
   * holds, applied as read from it), the log taking over `handover` as its own edits, the awareness
   * `presence`; returns false when the handle closed meanwhile.
   */
  readonly reopen: (
    seed: readonly Uint8Array[],
    handover: readonly Uint8Array[],
    presence: Record<string, unknown> | null,
  ) => boolean
}

/** A store changed by another tab between the read and the replace is read again, this often at most. */
const attempts = 3
/** A store that throws is tried this often (with backoff, about 3 s in all) before the fork does without it. */
const storeAttempts = 6

/** Forks the handle's document: see the module's comment. */
export const forkDocument = async ({ id, handle, log, start, taken, reopen }: ForkOptions): Promise<void> => {
  const { previous, presence, late } = start
  const move: ClockMove = { client: taken.client, from: taken.clock, to: reclaimedClientId(taken.client, taken.clock) }
  // The old opening ended at the start. What the app or another tab writes on the old doc meanwhile moves to the new one.
  const moved = await moveEdits(id, log, move, () => Y.encodeStateAsUpdate(previous))
  start.stopKeeping()
  const lateEdits = late.length > 0 ? Y.mergeUpdates(late) : undefined
  const lateMoved = lateEdits
    ? [reclaimClocks(lateEdits, { ...move, end: Math.max(moved.end, heldClockEnd(lateEdits, move.client) ?? 0) })]
    : []
  // What the app set meanwhile, or else what it had.
  const presenceNow = handle.awareness.getLocalState() ?? presence
  if (!reopen(moved.seed, [...moved.handover, ...lateMoved], presenceNow)) return
  handle.reportError(
    new ConcordError(
      'clocksTaken',
      `another writer took the clocks of "${id}" this device wrote offline (client ${move.client} from clock ${move.from}): its edits moved to client ${move.to}, in a new doc`,
      id,
      { closeCode: 4422 },
    ),
  )
}

/** Stops the old log and moves its edits in the device store; from the old doc's state when the store cannot. */
const moveEdits = async (
  id: string,
  log: LocalLog,
  move: ClockMove,
  docState: () => Uint8Array,
): Promise<MovedEdits> => {
  const { store, unsaved } = await log.stopForFork()
  // A store that fails for a moment is tried again: without it the fork can only move the doc's whole
  // state, and leaves the old pending records in the store, for the next load to fork again.
  for (let attempt = 1; store && attempt <= storeAttempts; attempt++) {
    try {
      return await moveStoredEdits(id, store, unsaved, move)
    } catch {
      if (attempt < storeAttempts) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt))
    }
  }
  // Without the stored edits, the whole state moves: any content of X from n this doc holds counts as its own.
  const state = docState()
  const moved = reclaimClocks(state, move)
  return { seed: [moved], handover: [moved], end: movedClockEnd(state, move) }
}

/**
 * Replaces the pending records of `id` by one record of them all, moved.
 * The moved record is appended first and the old ones merged into it in
 * one transaction, so that a crash leaves the old edits or the moved ones
 * (or both, which a later fork moves to the same ids), never neither.
 */
const moveStoredEdits = async (
  id: string,
  store: LocalStore,
  unsaved: readonly Uint8Array[],
  move: ClockMove,
): Promise<MovedEdits> => {
  for (let attempt = 1; ; attempt++) {
    const stored = await store.load(id)
    const records = stored.updates.filter(({ pending }) => pending)
    const kept = [
      ...(stored.snapshot ? [stored.snapshot] : []),
      ...stored.updates.filter(({ pending }) => !pending).map(({ update }) => update),
    ]
    const mine = [...records.map(({ update }) => update), ...unsaved]
    if (mine.length === 0) return { seed: kept, handover: [], end: move.from }
    const merged = Y.mergeUpdates(mine)
    const end = movedClockEnd(merged, move)
    const moved = reclaimClocks(merged, move)
    const movedId = await store.append(id, moved, true)
    const replaced = await store.mergePending(id, [...records.map((record) => record.id), movedId], () => moved)
    if (replaced || attempt === attempts) return { seed: [...kept, moved], handover: [], end }
  }
}
