/**
 * Owns the question "do these two updates say the same thing about the
 * clocks they share?", answered from decoded structs, one clock at a time,
 * without a Y.Doc. Two structs agree on a clock when they put the same
 * content at the same place (origins and parent). Deleted content may differ
 * in form (a replica replaces it by a GC struct or a ContentDeleted once it
 * is deleted), so it agrees with anything, but only where a delete set says
 * it is deleted.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import type { ClockRange } from './yjsUpdates.js'

type Struct = Y.Item | Y.GC

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

/**
 * The first clock in `shared` where `incoming` and `held` disagree, as
 * "client:clock", or undefined when they agree on every shared clock.
 * Costs a decode of both updates plus a few microseconds per shared clock.
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
    for (let clock = start; clock < end; clock++) {
      const mine = structAt(incomingStructs.get(client) ?? [], clock)
      const theirs = structAt(heldStructs.get(client) ?? [], clock)
      if (!mine || !theirs) continue
      const deleted = Y.isDeleted(deleteSet, Y.createID(client, clock))
      if (!agree(unitAt(mine, clock), unitAt(theirs, clock), deleted)) return `${client}:${clock}`
    }
  }
  return undefined
}
