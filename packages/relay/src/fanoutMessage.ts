/**
 * Owns the bytes of a fan-out message between relays (redisFanout.ts carries them over Redis
 * pub/sub). Every message starts with the sender's relay id, a stream number (one per document
 * membership), a sequence number within the stream and a kind.
 *
 * A relay sends every entry of one event-loop turn on a document as one `batch` message: the
 * entries take the sequence numbers from the message's on, one each, in order (so a receiver
 * checks for a gap once per message and still knows the stream's last number). One PUBLISH per
 * document and turn instead of one per update: the command, the socket write, Redis's delivery and
 * the receiver's callback are paid once for the lot (BENCHMARKS.md, "Cluster publishes").
 *
 * The single-entry kinds (0 to 3, 5) are what relays sent before batches, still decoded; a
 * deletion (kind 4) is still sent alone, outside every stream. A relay that predates batches drops
 * a batch as an unknown kind: relays of a cluster upgrade together (docs/deploy.md).
 */
import { decodeWhole, ProtocolError, readBoundedVarUint, readSafeVarUint } from '@concord/protocol'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { bufferView } from './bytes.js'
import type { StoredRow } from './docStore.js'

/**
 * `storedUpdate` is an update with where it landed in the store's log (its row id and the id of the
 * row before it, empty for none): the receiver can then check its own appends without a read (see
 * storedFirst.ts).
 */
export const kinds = { update: 0, awareness: 1, query: 2, resync: 3, deleted: 4, storedUpdate: 5, batch: 6 } as const
type Kind = (typeof kinds)[keyof typeof kinds]

/** What one sequence number carries. */
export type Entry =
  | { readonly kind: typeof kinds.update; readonly update: Uint8Array; readonly row?: StoredRow | undefined }
  | { readonly kind: typeof kinds.awareness; readonly update: Uint8Array }
  | { readonly kind: typeof kinds.query | typeof kinds.resync }

export type Message =
  | { readonly kind: typeof kinds.deleted; readonly relayId: string }
  | {
      readonly kind: 'stream'
      readonly relayId: string
      readonly stream: number
      /** The sequence number of the first entry; each next entry has the next number. */
      readonly seq: number
      /** The sequence number of the last entry (of the message, for a malformed one). */
      readonly last: number
      readonly entries: readonly Entry[]
      /**
       * A single-entry stored update (kind 5) whose payload does not decode: its sequence number
       * counts, and the receiver resyncs (as it did before batches).
       */
      readonly malformed?: ProtocolError
    }

const rowId = /^[1-9][0-9]{0,18}$/

const writeHeader = (encoder: encoding.Encoder, relayId: string, stream: number, seq: number, kind: Kind): void => {
  encoding.writeVarString(encoder, relayId)
  encoding.writeVarUint(encoder, stream)
  encoding.writeVarUint(encoder, seq)
  encoding.writeVarUint(encoder, kind)
}

/** The entries of one stream from `seq` on, as one batch message. */
export const encodeBatch = (relayId: string, stream: number, seq: number, entries: readonly Entry[]): Buffer => {
  const encoder = encoding.createEncoder()
  writeHeader(encoder, relayId, stream, seq, kinds.batch)
  encoding.writeVarUint(encoder, entries.length)
  for (const entry of entries) {
    const stored = entry.kind === kinds.update && entry.row !== undefined
    encoding.writeVarUint(encoder, stored ? kinds.storedUpdate : entry.kind)
    if (entry.kind === kinds.update && entry.row) {
      encoding.writeVarString(encoder, entry.row.id)
      encoding.writeVarString(encoder, entry.row.previous ?? '')
    }
    if (entry.kind === kinds.update || entry.kind === kinds.awareness)
      encoding.writeVarUint8Array(encoder, entry.update)
  }
  return bufferView(encoding.toUint8Array(encoder))
}

/** A deletion: alone, outside every stream (stream and sequence 0, no payload). */
export const encodeDeletion = (relayId: string): Buffer => {
  const encoder = encoding.createEncoder()
  writeHeader(encoder, relayId, 0, 0, kinds.deleted)
  encoding.writeVarUint8Array(encoder, new Uint8Array())
  return bufferView(encoding.toUint8Array(encoder))
}

const readRow = (decoder: decoding.Decoder): StoredRow => {
  const id = decoding.readVarString(decoder)
  const previous = decoding.readVarString(decoder)
  if (!rowId.test(id) || (previous !== '' && !rowId.test(previous))) {
    throw new ProtocolError('malformedMessage', 'a stored update names no valid row id')
  }
  return { id, previous: previous === '' ? undefined : previous }
}

const decodeStoredUpdate = (payload: Uint8Array): Entry =>
  decodeWhole(payload, 'stored update', (decoder) => ({
    kind: kinds.update,
    row: readRow(decoder),
    update: decoding.readVarUint8Array(decoder),
  }))

/** One entry of a batch: any stream kind, never a deletion or a batch. */
const readEntry = (decoder: decoding.Decoder): Entry => {
  const kind = readBoundedVarUint(decoder, kinds.storedUpdate, 'batch entry kind')
  switch (kind) {
    case kinds.update:
    case kinds.awareness:
      return { kind, update: decoding.readVarUint8Array(decoder) }
    case kinds.storedUpdate:
      return { kind: kinds.update, row: readRow(decoder), update: decoding.readVarUint8Array(decoder) }
    case kinds.query:
    case kinds.resync:
      return { kind }
    default:
      throw new ProtocolError('malformedMessage', `a batch cannot carry a message of kind ${kind}`)
  }
}

/**
 * Strict, as every decoder in the repository: trailing bytes, an unsafe integer, an unknown kind, an
 * empty batch or a deletion in any form but the exact one a relay sends is a ProtocolError.
 */
export const decodeMessage = (bytes: Uint8Array): Message =>
  decodeWhole(bytes, 'fan-out message', (decoder): Message => {
    const relayId = decoding.readVarString(decoder)
    const stream = readSafeVarUint(decoder, 'stream')
    const seq = readSafeVarUint(decoder, 'seq')
    const kind = readBoundedVarUint(decoder, kinds.batch, 'fan-out message kind') as Kind
    if (kind === kinds.batch) {
      const count = readSafeVarUint(decoder, 'batch entry count')
      if (count === 0) throw new ProtocolError('malformedMessage', 'a batch carries no entry')
      if (!Number.isSafeInteger(seq + count - 1))
        throw new ProtocolError('malformedMessage', 'seq is not a safe integer')
      const entries: Entry[] = []
      // Each entry takes at least one byte, so `count` cannot make this loop outrun the input.
      for (let i = 0; i < count; i++) entries.push(readEntry(decoder))
      return { kind: 'stream', relayId, stream, seq, last: seq + count - 1, entries }
    }
    const payload = decoding.readVarUint8Array(decoder)
    switch (kind) {
      case kinds.deleted:
        // It refuses every client of the document: only the exact form a relay sends counts.
        if (stream !== 0 || seq !== 0 || payload.length > 0) {
          throw new ProtocolError('malformedMessage', 'a deletion has stream 0, sequence number 0 and no payload')
        }
        return { kind, relayId }
      case kinds.storedUpdate:
        try {
          return { kind: 'stream', relayId, stream, seq, last: seq, entries: [decodeStoredUpdate(payload)] }
        } catch (error) {
          return { kind: 'stream', relayId, stream, seq, last: seq, entries: [], malformed: error as ProtocolError }
        }
      case kinds.update:
      case kinds.awareness:
        return { kind: 'stream', relayId, stream, seq, last: seq, entries: [{ kind, update: payload }] }
      default:
        return { kind: 'stream', relayId, stream, seq, last: seq, entries: [{ kind: kind as typeof kinds.query }] }
    }
  })
