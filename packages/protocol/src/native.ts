/**
 * Owns the Concord native wire mode, `concord.v2`: many documents over one
 * socket, each frame `varuint frameType · varString document · body`.
 * Sync and awareness bodies are the y-protocols messages unchanged; what
 * native adds is `open`/`close`, a sequence number on every sync frame a
 * client sends, the relay's `ack` ("every sync frame up to seq is durable,
 * but those it refused"), `refused` for a sync frame that will never be
 * stored, and typed `error`/`notice` frames. The byte layout is in README.md.
 *
 * The bodies of `concord.v3`'s history frames (12-14) are historyFrames.ts's: this codec takes
 * them as an argument, so that a client that never asks for history (whose relay then never
 * answers any) leaves their code out of its bundle. historyFrames.ts has the whole codec.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { ProtocolError } from './errors.js'
import { decodeWhole, readBoundedVarUint, readSafeVarUint } from './strictDecoding.js'
import { readSyncMessage, writeSyncMessage, type SyncMessage } from './sync.js'
import type { VersionRequest, WireVersion } from './versionFrames.js'

/** The WebSocket subprotocol that selects native mode; anything else is y-websocket mode. */
export const nativeSubprotocol = 'concord.v2'

/**
 * `concord.v3`: every frame of `concord.v2`, and the version-history frames `request`, `answer`
 * and `failed` (12-14). A client offers both, v3 first; a relay that speaks v3 selects it.
 */
export const nativeSubprotocolV3 = 'concord.v3'

/** The native subprotocols, in the order a client offers them. */
export const nativeSubprotocols = [nativeSubprotocolV3, nativeSubprotocol] as const
export type NativeSubprotocol = (typeof nativeSubprotocols)[number]

/** Whether `subprotocol` selects native mode. */
export const isNativeSubprotocol = (subprotocol: string): subprotocol is NativeSubprotocol =>
  (nativeSubprotocols as readonly string[]).includes(subprotocol)

export const frameType = {
  open: 0,
  close: 1,
  sync: 2,
  awareness: 3,
  queryAwareness: 4,
  ack: 5,
  error: 6,
  notice: 7,
  ping: 8,
  pong: 9,
  auth: 10,
  refused: 11,
  /** `concord.v3` only, from here on. */
  request: 12,
  answer: 13,
  failed: 14,
} as const

/** The highest frame type each subprotocol knows. */
const lastFrameType: Record<NativeSubprotocol, number> = {
  [nativeSubprotocol]: frameType.refused,
  [nativeSubprotocolV3]: frameType.failed,
}

export type NativeFrame =
  | { readonly type: 'open'; readonly doc: string }
  | { readonly type: 'close'; readonly doc: string }
  /**
   * `seq` numbers the sync frames a client sends for one document on one
   * connection, from 1, strictly increasing; 0 means "no ack wanted" and is
   * what the relay always sends.
   */
  | { readonly type: 'sync'; readonly doc: string; readonly seq: number; readonly sync: SyncMessage }
  | { readonly type: 'awareness'; readonly doc: string; readonly update: Uint8Array }
  | { readonly type: 'queryAwareness'; readonly doc: string }
  /**
   * Every sync frame of `doc` with a sequence number up to `seq` is durably
   * stored, except those the relay answered with `refused`.
   */
  | { readonly type: 'ack'; readonly doc: string; readonly seq: number }
  /**
   * The sync frame `seq` of `doc` was not stored and never will be (`code`
   * 4403: read-only access; 4422: the update is invalid or contradicts what
   * the relay holds). No ack covers it; `doc` stays open.
   */
  | {
      readonly type: 'refused'
      readonly doc: string
      readonly seq: number
      readonly code: number
      readonly reason: string
    }
  /** The relay closed `doc` for this connection (or, with `doc` empty, is about to close the connection). */
  | { readonly type: 'error'; readonly doc: string; readonly code: number; readonly reason: string }
  /** Information that closes nothing; `doc` is empty when it concerns the connection. */
  | { readonly type: 'notice'; readonly doc: string; readonly code: number; readonly message: string }
  /**
   * A liveness check the other side answers at once with a `pong` carrying the
   * same `id`; `doc` is empty. Browsers cannot see WebSocket ping frames, so
   * clients detect a dead socket with these.
   */
  | { readonly type: 'ping'; readonly doc: string; readonly id: number }
  | { readonly type: 'pong'; readonly doc: string; readonly id: number }
  /**
   * The client's credentials for this connection (`doc` is empty), sent
   * before the documents it opens and again to refresh them. Documents
   * opened afterwards, and those already open, are checked against it.
   */
  | { readonly type: 'auth'; readonly doc: string; readonly token: string }
  /**
   * `concord.v3`: a client asks something of `doc`'s version history. `id` is the client's, to
   * match the answer (one `answer` or `failed` frame with the same `id`).
   */
  | { readonly type: 'request'; readonly doc: string; readonly id: number; readonly request: VersionRequest }
  /**
   * `concord.v3`: the relay's answer to request `id`: the version saved, restored to or loaded
   * (one), or a page of versions (newest first); `state` is a loaded version's Yjs update, and
   * empty for every other operation.
   */
  | {
      readonly type: 'answer'
      readonly doc: string
      readonly id: number
      readonly versions: readonly WireVersion[]
      readonly state: Uint8Array
    }
  /**
   * `concord.v3`: request `id` failed and changed nothing. `code` is a close code (4403 read-only,
   * 4404 versionNotFound or documentDeleted, 4422 rootTypeUnknown, 4501 historyUnavailable...),
   * `error` the stable name of the error, as the HTTP API's `error` field.
   */
  | {
      readonly type: 'failed'
      readonly doc: string
      readonly id: number
      readonly code: number
      readonly error: string
      readonly message: string
    }

/** The history frames of `concord.v3`, whose bodies versionFrames.ts encodes and decodes. */
export type HistoryFrame = Extract<NativeFrame, { type: 'request' | 'answer' | 'failed' }>

/** The bodies of the history frames: `historyFrameCodec` in versionFrames.ts. */
export interface HistoryFrameCodec {
  write(encoder: encoding.Encoder, frame: HistoryFrame): void
  read(decoder: decoding.Decoder, type: number, doc: string): HistoryFrame
}

const noHistoryCodec = (): never => {
  throw new ProtocolError('malformedMessage', 'a history frame, and no history codec to read or write it')
}

/** Encodes `frame`; a history frame needs `history` (else a ProtocolError `malformedMessage`). */
export const encodeNativeFrameWith = (frame: NativeFrame, history?: HistoryFrameCodec): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, frameType[frame.type])
  encoding.writeVarString(encoder, frame.doc)
  switch (frame.type) {
    case 'sync':
      encoding.writeVarUint(encoder, frame.seq)
      writeSyncMessage(encoder, frame.sync)
      break
    case 'awareness':
      encoding.writeVarUint8Array(encoder, frame.update)
      break
    case 'ack':
      encoding.writeVarUint(encoder, frame.seq)
      break
    case 'ping':
    case 'pong':
      encoding.writeVarUint(encoder, frame.id)
      break
    case 'auth':
      encoding.writeVarString(encoder, frame.token)
      break
    case 'error':
      encoding.writeVarUint(encoder, frame.code)
      encoding.writeVarString(encoder, frame.reason)
      break
    case 'refused':
      encoding.writeVarUint(encoder, frame.seq)
      encoding.writeVarUint(encoder, frame.code)
      encoding.writeVarString(encoder, frame.reason)
      break
    case 'notice':
      encoding.writeVarUint(encoder, frame.code)
      encoding.writeVarString(encoder, frame.message)
      break
    case 'request':
    case 'answer':
    case 'failed':
      ;(history ?? noHistoryCodec()).write(encoder, frame)
      break
    case 'open':
    case 'close':
    case 'queryAwareness':
      break
  }
  return encoding.toUint8Array(encoder)
}

/**
 * Decodes one frame of `subprotocol` (default `concord.v2`, which refuses the history frames of
 * `concord.v3` as unknown frame types); a history frame needs `history` (else a ProtocolError
 * `malformedMessage`).
 */
export const decodeNativeFrameWith = (
  bytes: Uint8Array,
  subprotocol: NativeSubprotocol = nativeSubprotocol,
  history?: HistoryFrameCodec,
): NativeFrame =>
  decodeWhole(bytes, `${subprotocol} frame`, (decoder): NativeFrame => {
    const type = readBoundedVarUint(decoder, lastFrameType[subprotocol], 'frame type')
    const doc = decoding.readVarString(decoder)
    switch (type) {
      case frameType.open:
        return { type: 'open', doc }
      case frameType.close:
        return { type: 'close', doc }
      case frameType.sync:
        return { type: 'sync', doc, seq: readSafeVarUint(decoder, 'seq'), sync: readSyncMessage(decoder) }
      case frameType.awareness:
        return { type: 'awareness', doc, update: decoding.readVarUint8Array(decoder) }
      case frameType.queryAwareness:
        return { type: 'queryAwareness', doc }
      case frameType.ack:
        return { type: 'ack', doc, seq: readSafeVarUint(decoder, 'seq') }
      case frameType.error:
        return { type: 'error', doc, code: readSafeVarUint(decoder, 'code'), reason: decoding.readVarString(decoder) }
      case frameType.notice:
        return { type: 'notice', doc, code: readSafeVarUint(decoder, 'code'), message: decoding.readVarString(decoder) }
      case frameType.ping:
        return { type: 'ping', doc, id: readSafeVarUint(decoder, 'id') }
      case frameType.pong:
        return { type: 'pong', doc, id: readSafeVarUint(decoder, 'id') }
      case frameType.auth:
        return { type: 'auth', doc, token: decoding.readVarString(decoder) }
      case frameType.request:
      case frameType.answer:
      case frameType.failed:
        return history ? history.read(decoder, type, doc) : noHistoryCodec()
      default:
        return {
          type: 'refused',
          doc,
          seq: readSafeVarUint(decoder, 'seq'),
          code: readSafeVarUint(decoder, 'code'),
          reason: decoding.readVarString(decoder),
        }
    }
  })
