import { describe, expect, it } from 'vitest'
import { bufferView, concatBytes, copyBytes, smallOnesShared } from './bytes.js'

describe('bytes', () => {
  it('copies into memory of exactly the bytes, which later writes to the original do not reach', () => {
    // A small Buffer is a view into Node's shared pool.
    const pooled = Buffer.from([1, 2, 3])
    expect(pooled.buffer.byteLength).toBeGreaterThan(3)
    const copy = copyBytes(pooled)
    expect(copy.buffer.byteLength).toBe(3)
    pooled[0] = 9
    expect([...copy]).toEqual([1, 2, 3])
  })

  it('concatenates into memory of exactly the bytes, copied', () => {
    const frame = new Uint8Array([0, 1, 2, 3, 4, 5])
    const chunks = [frame.subarray(1, 3), new Uint8Array(), frame.subarray(4)]
    const joined = concatBytes(chunks)
    expect([...joined]).toEqual([1, 2, 4, 5])
    expect(joined.buffer.byteLength).toBe(4)
    frame.fill(7)
    expect([...joined]).toEqual([1, 2, 4, 5])
    expect(concatBytes([]).byteLength).toBe(0)
  })

  it('views the same memory as a Buffer, without copying', () => {
    const frame = new Uint8Array([0, 1, 2, 3, 4, 5])
    const view = bufferView(frame.subarray(2, 5))
    expect(Buffer.isBuffer(view)).toBe(true)
    expect([...view]).toEqual([2, 3, 4])
    frame[3] = 9
    expect([...view]).toEqual([2, 9, 4])
  })

  it('copies the small chunks into one buffer for a decoder, and passes the large ones as they are', () => {
    const large = new Uint8Array(65).fill(5)
    const chunks = [new Uint8Array([1, 2]), large, new Uint8Array(), new Uint8Array([3, 4, 5])]
    const shared = smallOnesShared(chunks)
    expect(shared.map((chunk) => [...chunk])).toEqual(chunks.map((chunk) => [...chunk]))
    expect(shared[1]).toBe(large)
    expect(shared[0]!.buffer).toBe(shared[3]!.buffer)
    expect(shared[0]!.buffer.byteLength).toBe(5)
    chunks[0]![0] = 9
    expect(shared[0]![0]).toBe(1)
    expect(smallOnesShared([large])[0]).toBe(large)
  })
})
