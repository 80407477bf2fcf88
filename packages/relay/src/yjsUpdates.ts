/**
 * Owns the few things the relay does to Yjs updates as bytes: check that an
 * update decodes and that a Yjs document could integrate it, and merge many
 * into one. No Y.Doc outlives a call.
 */
import * as Y from 'yjs'
import { ProtocolError } from '@concord/protocol'
import { findWaitCycle } from './structDependencies.js'

/**
 * An item may refer (as its origin, right origin or parent) to an item of its
 * own client only if that item came before it: Yjs assumes so and does not
 * check, so an update that breaks it decodes, merges and diffs fine, then
 * throws in every Y.Doc that applies it, clients and the relay's compaction
 * alike.
 */
const refersForward = (item: Y.Item): boolean => {
  const { client, clock } = item.id
  for (const reference of [item.origin, item.rightOrigin, item.parent]) {
    if (reference instanceof Y.ID && reference.client === client && reference.clock >= clock) return true
  }
  return false
}

/** A reference no struct can ever hold: a struct holding it would end past the last safe integer. */
const unreachable = (id: Y.ID | null | string | Y.AbstractType<unknown>): boolean =>
  id instanceof Y.ID && !(id.clock < Number.MAX_SAFE_INTEGER)

/**
 * Why no Yjs document could integrate `struct`, or undefined. A struct that
 * takes no clock (an empty string, an empty list of values, a GC or a skip
 * of length 0) holds no id, so whatever refers to it (an edit typed next to
 * it, which names the clock before it) waits forever in every other copy; a
 * struct or reference past the last safe integer names an id that clocks
 * cannot reach exactly.
 */
const unintegrable = (struct: Y.Item | Y.GC | Y.Skip): string | undefined => {
  const { client, clock } = struct.id
  if (!(struct.length > 0)) return `struct ${client}:${clock} takes no clock`
  if (!(clock + struct.length <= Number.MAX_SAFE_INTEGER)) return `struct ${client}:${clock} ends past 2^53`
  if (struct instanceof Y.Item) {
    if (unreachable(struct.origin) || unreachable(struct.rightOrigin) || unreachable(struct.parent)) {
      return `item ${client}:${clock} refers to a clock past 2^53`
    }
    if (refersForward(struct)) return `item ${client}:${clock} refers to a later item`
  }
  return undefined
}

/** The clocks `start` (inclusive) to `end` (exclusive) of one Yjs client. */
export interface ClockRange {
  readonly client: number
  readonly start: number
  readonly end: number
}

export interface InspectedUpdate {
  /** True when the update carries no structs and no deletions. */
  readonly empty: boolean
  /** The clocks the update holds structs for, per client in the order written, adjacent runs joined. */
  readonly ranges: readonly ClockRange[]
  /** Its structs, as decoded: for checks that need more than the clocks. */
  readonly structs: readonly (Y.Item | Y.GC | Y.Skip)[]
}

/**
 * Checks that `update` decodes as a Yjs (v1) update that a Yjs document
 * could integrate: it lists each client once, every struct takes at least
 * one clock, items refer only backwards within each client, and no items
 * wait on each other in a circle. Tells which clocks it holds. Throws a
 * ProtocolError with code `invalidUpdate` otherwise. This costs a decode
 * (about 2 us for a keystroke), where applying it to a throwaway Y.Doc
 * would cost about 80.
 *
 * `held` is for content the document holds already (its merged state, or
 * what a resync found in the store): only decoding and the list of each
 * client are checked there. A document that holds what admission refuses
 * today (stored before the check existed, or circles across two updates,
 * which admission does not see) must stay writable, not fail at its next
 * write.
 */
export const inspectUpdate = (update: Uint8Array, held = false): InspectedUpdate => {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch (error) {
    throw new ProtocolError('invalidUpdate', 'the update does not decode as a Yjs update', { cause: error })
  }
  const ranges: ClockRange[] = []
  const clientsSeen = new Set<number>()
  let lastClient: number | undefined
  let lastEnd = 0
  let last: ClockRange | undefined
  for (const struct of decoded.structs) {
    const { client, clock } = struct.id
    const problem = held ? undefined : unintegrable(struct)
    if (problem) throw new ProtocolError('invalidUpdate', problem)
    // A Y.Doc keeps only the last list of a client's structs, where merges keep both: replicas would differ.
    if (client !== lastClient) {
      if (clientsSeen.has(client)) throw new ProtocolError('invalidUpdate', `the update lists client ${client} twice`)
      clientsSeen.add(client)
      lastClient = client
    } else if (clock < lastEnd) {
      throw new ProtocolError('invalidUpdate', `the update lists clock ${clock} of client ${client} twice`)
    }
    lastEnd = clock + struct.length
    if (struct instanceof Y.Skip) continue
    if (last?.client === client && last.end === clock) {
      last = ranges[ranges.length - 1] = { client, start: last.start, end: clock + struct.length }
    } else {
      last = { client, start: clock, end: clock + struct.length }
      ranges.push(last)
    }
  }
  const cycle = held ? undefined : findWaitCycle(decoded.structs)
  if (cycle) throw new ProtocolError('invalidUpdate', `items wait on each other in a circle, ${cycle} among them`)
  return { empty: decoded.structs.length === 0 && decoded.ds.clients.size === 0, ranges, structs: decoded.structs }
}

/**
 * Below this many updates `Y.mergeUpdates` is cheapest; above it, its cost
 * grows superlinearly and its output stays fragmented, so a short-lived Y.Doc
 * merges instead. Measured on the automerge-paper trace (Yjs 13.6, Node 20):
 * 1,000 small updates take 21 ms and give 13 KB through mergeUpdates, 5 ms
 * and 1.3 KB through a Y.Doc; a 97 KB base plus a short tail costs 7-13 ms
 * either way.
 */
const mergeUpdatesLimit = 16

/** One update equivalent to all of `updates` (in any order). */
export const mergeUpdates = (updates: readonly Uint8Array[]): Uint8Array => {
  if (updates.length === 1) return updates[0]!
  if (updates.length <= mergeUpdatesLimit) return Y.mergeUpdates([...updates])
  // A guid of our own: the default one costs 31 calls to crypto.getRandomValues (1% of a busy relay's time).
  const doc = new Y.Doc({ guid: 'concord-merge' })
  try {
    Y.transact(doc, () => {
      for (const update of updates) Y.applyUpdate(doc, update)
    })
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}
