/**
 * Owns the relay's copies and views of byte strings, so that each place says which one it takes.
 * A copy owns its bytes, in an ArrayBuffer of exactly their length: a decoded frame is a view into
 * the socket's buffer and a small Buffer a view into Node's shared pool, so keeping either keeps
 * far more memory than the bytes, and the bytes change when that memory is reused. A view shares
 * the memory: for a driver that wants a Buffer (better-sqlite3, pg), of bytes that do not change
 * while it reads them.
 */

/** The bytes, copied into memory of their own. */
export const copyBytes = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes)

/** The chunks one after the other, copied into memory of their own. */
export const concatBytes = (chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> => {
  let length = 0
  for (const chunk of chunks) length += chunk.byteLength
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

/** A Buffer over the same memory as `bytes`: no copy. */
export const bufferView = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** V8 keeps a typed array of up to this many bytes on its heap until something asks for its `.buffer`. */
const onHeapBytes = 64

/**
 * `chunks` as they are, except that the small ones are views into one ArrayBuffer of their copies:
 * for a decoder (lib0's asks for `.buffer`), which would otherwise make each small on-heap array
 * a backing store of its own, one malloc each, freed only when the array is collected. The views
 * are for the decoding only: keeping one keeps all of them.
 */
export const smallOnesShared = (chunks: readonly Uint8Array[]): Uint8Array[] => {
  let small = 0
  for (const chunk of chunks) if (chunk.byteLength <= onHeapBytes) small += chunk.byteLength
  if (small === 0) return [...chunks]
  const shared = new Uint8Array(small)
  let offset = 0
  return chunks.map((chunk) => {
    if (chunk.byteLength > onHeapBytes) return chunk
    shared.set(chunk, offset)
    offset += chunk.byteLength
    return shared.subarray(offset - chunk.byteLength, offset)
  })
}
