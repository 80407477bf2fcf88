import { describe, expect, it } from 'vitest'
import { BytesPacker, packBytes, unpackBytes } from './packedBytes.js'

const bytesOf = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (seed + i) % 251)

describe('BytesPacker', () => {
  it('packs strings added one at a time, past its first buffer, as packBytes packs them all at once', () => {
    // 4 KiB at first: these 700 strings of 0 to 60 bytes make it grow several times.
    const chunks = Array.from({ length: 700 }, (_, i) => bytesOf(i % 61, i))
    const packer = new BytesPacker()
    for (const chunk of chunks) packer.add(chunk)
    const packed = packer.packed()

    expect(unpackBytes(packed)).toEqual(chunks)
    expect(packed.ends).toEqual(packBytes(chunks).ends)
    expect(packed.bytes.byteLength).toBe(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0))
  })

  it('takes one string larger than twice what it holds', () => {
    const packer = new BytesPacker()
    packer.add(bytesOf(10, 1))
    packer.add(bytesOf(100_000, 2))
    expect(unpackBytes(packer.packed())).toEqual([bytesOf(10, 1), bytesOf(100_000, 2)])
  })

  it('packs nothing as no strings in an empty buffer', () => {
    const packed = new BytesPacker().packed()
    expect(packed.ends).toEqual([])
    expect(packed.bytes.byteLength).toBe(0)
  })

  it('keeps what it packed when the added strings change afterwards', () => {
    const packer = new BytesPacker()
    const chunk = bytesOf(8, 3)
    packer.add(chunk)
    chunk.fill(0)
    expect(unpackBytes(packer.packed())).toEqual([bytesOf(8, 3)])
  })
})
