import { describe, expect, it } from 'vitest'
import { createBackoff } from './backoff.js'

const take = (next: () => number, count: number) => Array.from({ length: count }, next)

describe('createBackoff', () => {
  it('doubles the ceiling from 500 ms up to 30 s, each delay between half the ceiling and all of it', () => {
    const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
    expect(take(createBackoff({ random: () => 0 }).next, 8)).toEqual(ceilings.map((ceiling) => ceiling / 2))
    expect(take(createBackoff({ random: () => 0.5 }).next, 8)).toEqual(ceilings.map((ceiling) => ceiling * 0.75))
    expect(take(createBackoff({ random: () => 1 }).next, 8)).toEqual(ceilings)
  })

  it('never exceeds the cap, however many attempts fail', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1000, factor: 3 })
    const delays = take(backoff.next, 2000)
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000)
    expect(delays.slice(-100).every((delay) => delay >= 500)).toBe(true)
  })

  it('starts over after reset()', () => {
    const backoff = createBackoff({ random: () => 1 })
    expect(take(backoff.next, 4)).toEqual([500, 1000, 2000, 4000])
    backoff.reset()
    expect(take(backoff.next, 2)).toEqual([500, 1000])
  })

  it('refuses settings that cannot back off', () => {
    expect(() => createBackoff({ initialDelayMs: 0 })).toThrow(RangeError)
    expect(() => createBackoff({ initialDelayMs: 1000, maxDelayMs: 500 })).toThrow(RangeError)
    expect(() => createBackoff({ factor: 0.5 })).toThrow(RangeError)
  })
})
