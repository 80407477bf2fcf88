/**
 * Owns `concord.v3`'s history frames as native frames (`request`, `answer`, `failed`: 12-14):
 * the codec of their bodies, and the whole native codec that includes them. native.ts frames
 * every other type; a client that never asks for history uses its codec without this one.
 * Also the entry point `@concord/protocol/history`, which reaches no y-websocket code.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import {
  decodeNativeFrameWith,
  encodeNativeFrameWith,
  frameType,
  nativeSubprotocol,
  type HistoryFrame,
  type HistoryFrameCodec,
  type NativeFrame,
  type NativeSubprotocol,
} from './native.js'
import { readSafeVarUint } from './strictDecoding.js'
import { readVersionRequest, readVersions, writeVersionRequest, writeVersions } from './versionFrames.js'

export const historyFrameCodec: HistoryFrameCodec = {
  write: (encoder, frame) => {
    encoding.writeVarUint(encoder, frame.id)
    switch (frame.type) {
      case 'request':
        writeVersionRequest(encoder, frame.request)
        break
      case 'answer':
        writeVersions(encoder, frame.versions)
        encoding.writeVarUint8Array(encoder, frame.state)
        break
      case 'failed':
        encoding.writeVarUint(encoder, frame.code)
        encoding.writeVarString(encoder, frame.error)
        encoding.writeVarString(encoder, frame.message)
        break
    }
  },
  read: (decoder, type, doc): HistoryFrame => {
    const id = readSafeVarUint(decoder, 'id')
    switch (type) {
      case frameType.request:
        return { type: 'request', doc, id, request: readVersionRequest(decoder) }
      case frameType.answer:
        return { type: 'answer', doc, id, versions: readVersions(decoder), state: decoding.readVarUint8Array(decoder) }
      default:
        return {
          type: 'failed',
          doc,
          id,
          code: readSafeVarUint(decoder, 'code'),
          error: decoding.readVarString(decoder),
          message: decoding.readVarString(decoder),
        }
    }
  },
}

/** Encodes any native frame, the history frames included. */
export const encodeNativeFrame = (frame: NativeFrame): Uint8Array => encodeNativeFrameWith(frame, historyFrameCodec)

/** Decodes one frame of `subprotocol` (default `concord.v2`, which refuses the history frames as unknown frame types). */
export const decodeNativeFrame = (bytes: Uint8Array, subprotocol: NativeSubprotocol = nativeSubprotocol): NativeFrame =>
  decodeNativeFrameWith(bytes, subprotocol, historyFrameCodec)
