/**
 * Owns the way byte strings cross between the relay's thread and the SQLite
 * worker: packed into one ArrayBuffer (one copy) that is then transferred,
 * not cloned. Cloning a Uint8Array would copy its whole underlying buffer,
 * which for a view into a socket frame or Buffer's pool is more than the
 * update itself.
 */
import { concatBytes } from './bytes.js'

export interface PackedBytes {
  readonly bytes: ArrayBuffer
  /** Where each string ends in `bytes`; the first starts at 0, each next one where the previous ended. */
  readonly ends: readonly number[]
}

export const packBytes = (chunks: readonly Uint8Array[]): PackedBytes => {
  const ends: number[] = []
  let offset = 0
  for (const chunk of chunks) ends.push((offset += chunk.byteLength))
  return { bytes: concatBytes(chunks).buffer, ends }
}

/** Views into `packed.bytes`, no copy. */
export const unpackBytes = (packed: PackedBytes): Uint8Array[] => {
  let start = 0
  return packed.ends.map((end) => {
    const chunk = new Uint8Array(packed.bytes, start, end - start)
    start = end
    return chunk
  })
}
