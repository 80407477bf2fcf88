/** shareEqualParts: what it shares, what it does not, and that hostile nesting cannot break it. */
import { describe, expect, it } from 'vitest'
import { maxSharedDepth, shareEqualParts } from './sharedSnapshot.js'

describe('shareEqualParts', () => {
  it('keeps every part equal to the one before, and returns the previous whole when nothing changed', () => {
    const previous = { a: { x: [1, 2] }, b: { y: 'same' }, bytes: new Uint8Array([1, 2]) }
    const next = { a: { x: [1, 3] }, b: { y: 'same' }, bytes: new Uint8Array([1, 2]) }
    const shared = shareEqualParts(previous, next)
    expect(shared).toEqual(next)
    expect(shared.b).toBe(previous.b)
    expect(shared.bytes).toBe(previous.bytes)
    expect(shared.a).not.toBe(previous.a)
    expect(shareEqualParts(previous, structuredClone(previous))).toBe(previous)
  })

  it('tells a removed key, an added key and a key set to undefined apart', () => {
    const previous: Record<string, unknown> = { a: 1, b: undefined }
    expect(shareEqualParts(previous, { a: 1 })).not.toBe(previous)
    expect(shareEqualParts(previous, { a: 1, c: undefined })).not.toBe(previous)
    expect(shareEqualParts([1, 2], [1, 2, 3])).toEqual([1, 2, 3])
    expect(shareEqualParts({ a: [] }, { a: {} })).toEqual({ a: {} })
  })

  it('keeps a key named __proto__ as a key', () => {
    const previous = JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}') as Record<string, unknown>
    const next = JSON.parse('{"__proto__": {"polluted": 2}, "a": 1}') as Record<string, unknown>
    const shared = shareEqualParts(previous, next)
    expect(Object.keys(shared)).toEqual(['__proto__', 'a'])
    expect(Object.getPrototypeOf(shared)).toBe(Object.prototype)
    expect((shared as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('survives a value nested far deeper than it shares, and stays correct there', () => {
    const nest = (depth: number, leaf: unknown): unknown => {
      let value = leaf
      for (let level = 0; level < depth; level++) value = { inner: value }
      return value
    }
    const inner = (value: unknown, depth: number): unknown => {
      for (let level = 0; level < depth; level++) value = (value as { inner: unknown }).inner
      return value
    }
    const previous = nest(100_000, 1)
    const next = nest(100_000, 2)
    let shared: unknown
    expect(() => (shared = shareEqualParts(previous, next))).not.toThrow()
    // Copied down to the depth it shares, and from there on the new value itself, leaf and all.
    expect(inner(shared, maxSharedDepth)).toBe(inner(next, maxSharedDepth))
    expect(inner(shared, 100_000)).toBe(2)
    const shallow = nest(maxSharedDepth - 2, 'x')
    expect(shareEqualParts(shallow, nest(maxSharedDepth - 2, 'x'))).toBe(shallow)
  })
})
