/**
 * Owns the rewrite of a Yjs update that moves one client's clocks to
 * another client id: every struct this update holds for `client` at clock
 * `from` or later moves to `to` (clock minus `from`), and so does every
 * reference to those clocks (origins, right origins, parents, deletions).
 * References to clocks of `client` the update does not hold itself stay as
 * they are: they name someone else's content (a squatter's, see
 * ./clockFork.ts), which this update only builds on.
 *
 * Works on the decoded structs, never on a Y.Doc, so formatting, embeds,
 * nested types and deletions carry over byte for byte: the result is the
 * update the same edits would have made had they been written under `to`
 * from its clock 0.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

export interface ClockMove {
  /** The client whose clocks were taken. */
  readonly client: number
  /** The first clock taken. */
  readonly from: number
  /** The client id the content moves to. */
  readonly to: number
  /**
   * Where the moved clocks end (exclusive). Default: `movedClockEnd`. Give it
   * for an update that only refers to moved clocks (edits made on top of
   * them under another id).
   */
  readonly end?: number | undefined
}

type Struct = Y.Item | Y.GC
type DeleteRange = { clock: number; len: number }

/**
 * The client id the content of `client` from clock `from` moves to. The same
 * for every replica that moves the same clocks (another tab of the device,
 * or this one after a crash in the middle of a move), so that two copies of
 * the moved content are the same items, never two.
 */
export const reclaimedClientId = (client: number, from: number): number => {
  // FNV-1a over both numbers' 4 bytes each.
  let hash = 0x811c9dc5
  for (const value of [client, from, 0x636f6e63]) {
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (value >>> shift) & 0xff
      hash = Math.imul(hash, 0x01000193) >>> 0
    }
  }
  return hash === client ? (hash + 1) >>> 0 : hash
}

/** The end (exclusive) of the clocks of `client` the update holds content for, or undefined when it holds none. */
export const heldClockEnd = (update: Uint8Array, client: number): number | undefined => {
  let end: number | undefined
  for (const struct of Y.decodeUpdate(update).structs) {
    if (struct instanceof Y.Skip || struct.id.client !== client) continue
    end = Math.max(end ?? 0, struct.id.clock + struct.length)
  }
  return end
}

/**
 * Where the moved clocks of `update` end (exclusive): past the content of
 * `move.client` it holds, and past what it holds of `move.to`, which a fork
 * moved there already (another tab's fork, whose record replaced this one's:
 * edits made since may still refer to the taken clocks, now under `move.to`).
 */
export const movedClockEnd = (update: Uint8Array, move: ClockMove): number =>
  Math.max(heldClockEnd(update, move.client) ?? move.from, move.from + (heldClockEnd(update, move.to) ?? 0))

/** The piece of `struct` from `start` (inclusive) to `end` (exclusive), both inside it. */
const slice = (struct: Struct, start: number, end: number): Struct => {
  const { client, clock } = struct.id
  if (start === clock && end === clock + struct.length) return struct
  if (struct instanceof Y.GC) return new Y.GC(Y.createID(client, start), end - start)
  let content = struct.content.copy()
  if (end < clock + struct.length) content.splice(end - clock)
  if (start > clock) content = content.copy().splice(start - clock)
  // Past its first clock, an item's origin is the clock before, and its parent follows from that.
  const origin = start > clock ? Y.createID(client, start - 1) : struct.origin
  const parent = start > clock ? null : struct.parent
  const parentSub = start > clock ? null : struct.parentSub
  return new Y.Item(Y.createID(client, start), null, origin, null, struct.rightOrigin, parent, parentSub, content)
}

/** Rewrites `update` so that what it holds of `move.client` from `move.from` on is held by `move.to` instead. */
export const reclaimClocks = (update: Uint8Array, move: ClockMove): Uint8Array => {
  const { client, from, to } = move
  const { structs, ds } = Y.decodeUpdate(update)
  const end = move.end ?? movedClockEnd(update, move)
  const moves = (id: Y.ID | null): boolean => id !== null && id.client === client && id.clock >= from && id.clock < end
  const moved = <T extends Y.ID | null>(id: T): T =>
    (id !== null && moves(id) ? Y.createID(to, id.clock - from) : id) as T

  const byClient = new Map<number, Struct[]>()
  const add = (struct: Struct): void => {
    const list = byClient.get(struct.id.client) ?? []
    byClient.set(struct.id.client, list)
    list.push(struct)
  }
  for (const struct of structs) {
    // Gaps are written again below; a skip holds nothing.
    if (struct instanceof Y.Skip) continue
    const { clock } = struct.id
    const pieces =
      struct.id.client === client && clock < from && from < clock + struct.length
        ? [slice(struct, clock, from), slice(struct, from, clock + struct.length)]
        : [struct]
    for (const piece of pieces) {
      const id = moved(piece.id)
      if (piece instanceof Y.GC) {
        add(id === piece.id ? piece : new Y.GC(id, piece.length))
        continue
      }
      const parent = piece.parent instanceof Y.ID ? moved(piece.parent) : piece.parent
      add(
        new Y.Item(
          id,
          null,
          moved(piece.origin),
          null,
          moved(piece.rightOrigin),
          parent,
          piece.parentSub,
          piece.content,
        ),
      )
    }
  }

  const deletions = new Map<number, DeleteRange[]>()
  const deleted = (target: number, clock: number, len: number): void => {
    if (len <= 0) return
    const list = deletions.get(target) ?? []
    deletions.set(target, list)
    list.push({ clock, len })
  }
  for (const [deletedClient, ranges] of ds.clients) {
    for (const { clock, len } of ranges) {
      if (deletedClient !== client) {
        deleted(deletedClient, clock, len)
        continue
      }
      // Split at `from` and `end`: only the middle moves.
      const rangeEnd = clock + len
      const middleStart = Math.max(clock, from)
      const middleEnd = Math.min(rangeEnd, end)
      if (middleStart >= middleEnd) {
        deleted(client, clock, len)
        continue
      }
      deleted(client, clock, middleStart - clock)
      deleted(to, middleStart - from, middleEnd - middleStart)
      deleted(client, middleEnd, rangeEnd - middleEnd)
    }
  }
  return encodeUpdate(byClient, deletions)
}

/** Writes structs (by client) and deletions as a v1 update, the gaps in each client's clocks as skips. */
const encodeUpdate = (byClient: Map<number, Struct[]>, deletions: Map<number, DeleteRange[]>): Uint8Array => {
  const encoder = new Y.UpdateEncoderV1()
  const clients = [...byClient.keys()].sort((a, b) => b - a)
  encoding.writeVarUint(encoder.restEncoder, clients.length)
  for (const client of clients) {
    const sorted = byClient.get(client)!.sort((a, b) => a.id.clock - b.id.clock)
    const written: Array<Struct | Y.Skip> = []
    let next = sorted[0]!.id.clock
    for (const struct of sorted) {
      const end = struct.id.clock + struct.length
      // Clocks written already: the update held these edits moved too (another tab's fork, or one cut
      // short), the same items. Written twice, the second copy would be read at the clocks after.
      if (end <= next) continue
      if (struct.id.clock > next) written.push(new Y.Skip(Y.createID(client, next), struct.id.clock - next))
      written.push(struct.id.clock < next ? slice(struct, next, end) : struct)
      next = end
    }
    encoding.writeVarUint(encoder.restEncoder, written.length)
    encoder.writeClient(client)
    encoding.writeVarUint(encoder.restEncoder, sorted[0]!.id.clock)
    for (const struct of written) struct.write(encoder, 0)
  }
  const deleted = [...deletions.keys()].sort((a, b) => b - a)
  encoding.writeVarUint(encoder.restEncoder, deleted.length)
  for (const client of deleted) {
    const ranges = mergedRanges(deletions.get(client)!)
    encoding.writeVarUint(encoder.restEncoder, client)
    encoding.writeVarUint(encoder.restEncoder, ranges.length)
    for (const { clock, len } of ranges) {
      encoder.writeDsClock(clock)
      encoder.writeDsLen(len)
    }
  }
  return encoder.toUint8Array()
}

const mergedRanges = (ranges: DeleteRange[]): DeleteRange[] => {
  const sorted = [...ranges].sort((a, b) => a.clock - b.clock)
  const merged: DeleteRange[] = []
  for (const range of sorted) {
    const last = merged.at(-1)
    if (last && range.clock <= last.clock + last.len) {
      last.len = Math.max(last.len, range.clock + range.len - last.clock)
    } else merged.push({ ...range })
  }
  return merged
}
