import { describe, expect, it } from 'vitest'
import { bufferView, concatBytes, copyBytes } from './bytes.js'

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
})
