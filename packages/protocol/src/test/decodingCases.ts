/**
 * Owns what the protocol's decoder tests share: building bytes, naming how a
 * decode ended, and the varints lib0 alone would misread.
 */
import * as encoding from 'lib0/encoding'
import { expect } from 'vitest'
import { ProtocolError } from '../errors.js'

export const bytesOf = (write: (encoder: encoding.Encoder) => void): Uint8Array => {
  const encoder = encoding.createEncoder()
  write(encoder)
  return encoding.toUint8Array(encoder)
}

export const concat = (...parts: ArrayLike<number>[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((part) => Array.from(part)))

/** How a decode ended: `code: message` of a ProtocolError, or what else happened. */
export const outcome = (decode: () => unknown): string => {
  try {
    decode()
    return 'decoded'
  } catch (error) {
    return error instanceof ProtocolError ? `${error.code}: ${error.message}` : `not a ProtocolError: ${String(error)}`
  }
}

/** Runs `decode` on `bytes`, expecting a ProtocolError with code malformedMessage, and returns it. */
export const rejectionBy =
  (decode: (bytes: Uint8Array) => unknown) =>
  (bytes: Uint8Array): ProtocolError => {
    let thrown: unknown
    try {
      decode(bytes)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ProtocolError)
    expect((thrown as ProtocolError).code).toBe('malformedMessage')
    return thrown as ProtocolError
  }

// lib0 reads ~150 continuation bytes of zero as NaN (0 × Infinity) instead of throwing.
export const nanVarUint = [...new Array<number>(150).fill(0x80), 0x00]
// 2^53 in lib0's varint: seven zero groups, then 0x10 in the last one.
export const twoPow53 = bytesOf((encoder) => encoding.writeVarUint(encoder, 2 ** 53))
