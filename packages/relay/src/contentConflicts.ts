/**
 * Owns the question "do these two updates say the same thing about the
 * clocks they share?", answered from decoded structs, a run of clocks at a
 * time (one struct of each side), without a Y.Doc. Two structs agree on a clock when they put the same
 * content at the same place (origins and parent). Deleted content may differ
 * in form (a replica replaces it by a GC struct or a ContentDeleted once it
 * is deleted), so it agrees with anything, but only where a delete set says
 * it is deleted.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { ClockRange } from './yjsUpdates.js'

type Struct = Y.Item | Y.GC
type DeleteSet = ReturnType<typeof Y.mergeDeleteSets>

const idKey = (id: Y.ID | null): string => (id ? `${id.client}:${id.clock}` : '')

/** The content an item holds at `offset`, as a string that is equal for equal content. */
const contentAt = (content: Y.Item['content'], offset: number): string => {
  if (content instanceof Y.ContentString) return `s${content.str.charAt(offset)}`
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) {
    const encoder = encoding.createEncoder()
    encoding.writeAny(encoder, (content.arr[offset] ?? null) as never)
    return `a${Buffer.from(encoding.toUint8Array(encoder)).toString('hex')}`
  }
  // Every other kind of content is one clock long.
  const encoder = new Y.UpdateEncoderV1()
  content.write(encoder, 0)
  return `${content.getRef()}:${Buffer.from(encoder.toUint8Array()).toString('hex')}`
}

interface Unit {
  /** Where the content sits: its origins, and its parent where the origins do not tell. */
  readonly place: string
  /** Undefined for content in its deleted form. */
  readonly content: string | undefined
}

/** What a struct holds at `clock`; undefined for a GC struct, which keeps nothing. */
const unitAt = (struct: Struct, clock: number): Unit | undefined => {
  if (struct instanceof Y.GC) return undefined
  const offset = clock - struct.id.clock
  // Past the first clock of an item, its origin is the clock before, and its parent follows from that.
  const origin = offset > 0 ? `${struct.id.client}:${clock - 1}` : idKey(struct.origin)
  const rightOrigin = idKey(struct.rightOrigin)
  const parent =
    origin || rightOrigin
      ? ''
      : `${typeof struct.parent === 'string' ? struct.parent : idKey(struct.parent as Y.ID | null)}/${struct.parentSub ?? ''}`
  return {
    place: `${origin}|${rightOrigin}|${parent}`,
    content: struct.content instanceof Y.ContentDeleted ? undefined : contentAt(struct.content, offset),
  }
}

const agree = (mine: Unit | undefined, theirs: Unit | undefined, deleted: boolean): boolean => {
  if (mine && theirs && mine.place === theirs.place && mine.content === theirs.content) return true
  if (!deleted) return false
  if (!mine || !theirs) return true
  return mine.place === theirs.place && (mine.content === undefined || theirs.content === undefined)
}

const structsByClient = (
  structs: readonly (Struct | Y.Skip)[],
  clients: ReadonlySet<number>,
): Map<number, Struct[]> => {
  const byClient = new Map<number, Struct[]>()
  for (const struct of structs) {
    if (struct instanceof Y.Skip || !clients.has(struct.id.client)) continue
    const list = byClient.get(struct.id.client) ?? []
    byClient.set(struct.id.client, list)
    list.push(struct)
  }
  return byClient
}

/** The struct of a client's clock-sorted `structs` that holds `clock`. */
const structAt = (structs: readonly Struct[], clock: number): Struct | undefined => {
  let low = 0
  let high = structs.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const struct = structs[middle]!
    if (clock < struct.id.clock) high = middle - 1
    else if (clock >= struct.id.clock + struct.length) low = middle + 1
    else return struct
  }
  return undefined
}

/** Whether every clock of `client` from `start` to `end` is in the (sorted, merged) delete set. */
const deletedThroughout = (deleteSet: DeleteSet, client: number, start: number, end: number): boolean => {
  const items = deleteSet.clients.get(client) ?? []
  let low = 0
  let high = items.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const item = items[middle]!
    if (start < item.clock) high = middle - 1
    else if (start >= item.clock + item.len) low = middle + 1
    else return end <= item.clock + item.len
  }
  return false
}

/** The same content in `mine` and `theirs` over the clocks `start` to `end` that both hold (deleted form: on both). */
const sameContent = (mine: Y.Item, theirs: Y.Item, start: number, end: number): boolean => {
  const [a, b] = [mine.content, theirs.content]
  if (a instanceof Y.ContentDeleted || b instanceof Y.ContentDeleted) {
    return a instanceof Y.ContentDeleted && b instanceof Y.ContentDeleted
  }
  if (a instanceof Y.ContentString && b instanceof Y.ContentString) {
    return (
      a.str.slice(start - mine.id.clock, end - mine.id.clock) ===
      b.str.slice(start - theirs.id.clock, end - theirs.id.clock)
    )
  }
  for (let clock = start; clock < end; clock++) {
    if (contentAt(a, clock - mine.id.clock) !== contentAt(b, clock - theirs.id.clock)) return false
  }
  return true
}

/**
 * Whether `mine` and `theirs` agree on every clock from `start` to `end`,
 * which both hold: one comparison for the run, where comparing each clock
 * would cost microseconds per clock (a second for a repeat of a document
 * with 180,000 clocks). Past `start`, an item's origin is its own clock
 * before, so only the first clock's place can differ, and its right origin.
 */
const agreeOnRun = (mine: Struct, theirs: Struct, start: number, end: number, deleteSet: DeleteSet): boolean => {
  const first = agree(
    unitAt(mine, start),
    unitAt(theirs, start),
    Y.isDeleted(deleteSet, Y.createID(mine.id.client, start)),
  )
  if (!first) return false
  if (end - start === 1) return true
  const [rest, restEnd] = [start + 1, end]
  if (mine instanceof Y.Item && theirs instanceof Y.Item) {
    const samePlace = idKey(mine.rightOrigin) === idKey(theirs.rightOrigin)
    if (samePlace && sameContent(mine, theirs, rest, restEnd)) return true
    if (!deletedThroughout(deleteSet, mine.id.client, rest, restEnd)) return false
    // Deleted: content may be in deleted form on one side, at the same place.
    return samePlace && (mine.content instanceof Y.ContentDeleted || theirs.content instanceof Y.ContentDeleted)
  }
  // A GC struct keeps nothing: it agrees with anything deleted.
  return deletedThroughout(deleteSet, mine.id.client, rest, restEnd)
}

/**
 * The first clock in `shared` where `incoming` and `held` disagree, as
 * "client:clock", or undefined when they agree on every shared clock.
 * Costs a decode of both updates plus a comparison per run of clocks
 * that one struct of each holds.
 */
export const findConflict = (
  incoming: Uint8Array,
  held: Uint8Array,
  shared: readonly ClockRange[],
): string | undefined => {
  const incomingDecoded = Y.decodeUpdate(incoming)
  const heldDecoded = Y.decodeUpdate(held)
  const clients = new Set(shared.map(({ client }) => client))
  const incomingStructs = structsByClient(incomingDecoded.structs, clients)
  const heldStructs = structsByClient(heldDecoded.structs, clients)
  const deleteSet = Y.mergeDeleteSets([incomingDecoded.ds, heldDecoded.ds])
  for (const { client, start, end } of shared) {
    const mineList = incomingStructs.get(client) ?? []
    const theirList = heldStructs.get(client) ?? []
    let clock = start
    while (clock < end) {
      const mine = structAt(mineList, clock)
      const theirs = structAt(theirList, clock)
      if (!mine || !theirs) {
        clock++
        continue
      }
      const runEnd = Math.min(end, mine.id.clock + mine.length, theirs.id.clock + theirs.length)
      if (!agreeOnRun(mine, theirs, clock, runEnd, deleteSet)) {
        // Name the first clock that disagrees: the run's comparison only tells that one does.
        for (let each = clock; each < runEnd; each++) {
          const deleted = Y.isDeleted(deleteSet, Y.createID(client, each))
          if (!agree(unitAt(mine, each), unitAt(theirs, each), deleted)) return `${client}:${each}`
        }
        return `${client}:${clock}`
      }
      clock = runEnd
    }
  }
  return undefined
}
