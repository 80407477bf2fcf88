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
