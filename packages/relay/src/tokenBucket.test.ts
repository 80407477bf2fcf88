import { describe, expect, it } from 'vitest'
import { TokenBucket } from './tokenBucket.js'

describe('TokenBucket', () => {
  it('lets a burst through, then says how long until a debt is paid, and refills at its rate', () => {
    let now = 0
    const bucket = new TokenBucket(10, 5, () => now)
    expect([1, 1, 1, 1, 1].map(() => bucket.take(1))).toEqual([0, 0, 0, 0, 0])
    expect(bucket.take(1)).toBe(100)
    expect(bucket.take(2)).toBe(300)
    now += 300
    expect(bucket.take(0)).toBe(0)
    now += 10_000
    expect([1, 1, 1, 1, 1, 1].map(() => bucket.take(1))).toEqual([0, 0, 0, 0, 0, 100])
  })

  it('refuses a rate or capacity that is not positive', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError)
    expect(() => new TokenBucket(1, -1)).toThrow(RangeError)
  })
})
