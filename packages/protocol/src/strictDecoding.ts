/**
 * Owns decoding a whole message: every byte must be read, and any failure
 * (truncation, a length past the end, an overlong varint) becomes one
 * ProtocolError instead of whatever lib0 happened to throw.
 */
import * as decoding from 'lib0/decoding'
import { ProtocolError } from './errors.js'

export const decodeWhole = <T>(bytes: Uint8Array, what: string, read: (decoder: decoding.Decoder) => T): T => {
  const decoder = decoding.createDecoder(bytes)
  let value: T
  try {
    value = read(decoder)
  } catch (error) {
    if (error instanceof ProtocolError) throw error
    throw new ProtocolError('malformedMessage', `truncated or undecodable ${what}`, { cause: error })
  }
  if (decoding.hasContent(decoder)) {
    throw new ProtocolError('malformedMessage', `${bytes.length - decoder.pos} unexpected trailing bytes after ${what}`)
  }
  return value
}

/**
 * A varint that must be a safe integer. lib0's `readVarUint` only checks the
 * range between continuation bytes, so a final byte can carry the value past
 * 2^53 (losing precision), and ~150 zero continuation bytes make it NaN.
 */
export const readSafeVarUint = (decoder: decoding.Decoder, what: string): number => {
  const value = decoding.readVarUint(decoder)
  if (!Number.isSafeInteger(value)) throw new ProtocolError('malformedMessage', `${what} is not a safe integer`)
  return value
}

/** A varint that must fit the range a field allows, e.g. a message type. */
export const readBoundedVarUint = (decoder: decoding.Decoder, max: number, what: string): number => {
  const value = readSafeVarUint(decoder, what)
  if (value > max) throw new ProtocolError('malformedMessage', `unknown ${what} ${value}`)
  return value
}
