import { describe, expect, it } from 'vitest'
import { checkRetentionTiers, defaultRetentionTiers, versionsToDrop, type RetainedVersion } from './versionRetention.js'

const hour = 3_600_000
const day = 24 * hour
// A moment on an hour and a day boundary of the epoch, so buckets are easy to reason about.
const now = 20_000 * day

const automatic = (id: string, createdAt: number): RetainedVersion => ({ id, createdAt, named: false })
const named = (id: string, createdAt: number): RetainedVersion => ({ id, createdAt, named: true })

describe('versionsToDrop', () => {
  it('keeps every automatic version younger than a day, and the newest always', () => {
    const versions = [0, 1, 2, 3].map((minute) => automatic(`v${minute}`, now - day + 1 + minute))
    expect(versionsToDrop(versions, now)).toEqual([])
    // All in one old hour: the oldest of the hour and the newest stay.
    const old = [0, 1, 2, 3].map((minute) => automatic(`o${minute}`, now - 2 * day + minute * 60_000))
    expect(versionsToDrop(old, now)).toEqual(['o1', 'o2'])
  })

  it('thins at exactly one day old, not a millisecond before', () => {
    // Two versions in the same hour bucket, plus a newer one so that neither is the newest.
    const bucketStart = now - day - hour
    const versions = [automatic('a', bucketStart), automatic('b', now - day), automatic('newest', now)]
    // 'b' is exactly a day old: in the hourly tier, but its bucket (now - day is on an hour) is its own.
    expect(versionsToDrop(versions, now)).toEqual([])
    const sameHour = [automatic('a', now - day - 1), automatic('b', now - day - hour + 1), automatic('newest', now)]
    expect(versionsToDrop(sameHour, now)).toEqual(['a'])
    // One millisecond younger than a day: kept with all the young ones.
    const young = [automatic('a', now - day + 1), automatic('b', now - day + 2), automatic('newest', now)]
    expect(versionsToDrop(young, now)).toEqual([])
    const justOld = [automatic('a', now - day - 2), automatic('b', now - day - 1), automatic('newest', now)]
    expect(versionsToDrop(justOld, now)).toEqual(['b'])
  })

  it('keeps one per hour up to 30 days old and one per day from exactly 30 days', () => {
    const dayStart = now - 31 * day
    // Versions every hour of a day 31 days ago: one is kept.
    const monthOld = Array.from({ length: 24 }, (_, index) => automatic(`m${index}`, dayStart + index * hour))
    // Versions every 20 minutes of an hour 2 days ago: one is kept.
    const twoDaysOld = Array.from({ length: 3 }, (_, index) =>
      automatic(`h${index}`, now - 2 * day + index * 20 * 60_000),
    )
    const drop = versionsToDrop([...monthOld, ...twoDaysOld, automatic('newest', now)], now)
    expect(drop).toEqual([...monthOld.slice(1).map((v) => v.id), 'h1', 'h2'])
    // The boundary: exactly 30 days old is daily, a millisecond younger still hourly (at noon, so
    // that both versions fall in one day bucket).
    const noon = now + 12 * hour
    const atBoundary = [automatic('x', noon - 30 * day - hour), automatic('y', noon - 30 * day), automatic('z', noon)]
    expect(versionsToDrop(atBoundary, noon)).toEqual(['y'])
    const below = [automatic('x', noon - 30 * day - hour), automatic('y', noon - 30 * day + 1), automatic('z', noon)]
    expect(versionsToDrop(below, noon)).toEqual([])
  })

  it('never drops named versions, nor counts them as their bucket', () => {
    const versions = [
      named('label-1', now - 40 * day),
      automatic('a', now - 40 * day + 1),
      named('label-2', now - 40 * day + 2),
      automatic('b', now - 40 * day + 3),
      automatic('newest', now - 40 * day + 4),
    ]
    expect(versionsToDrop(versions, now)).toEqual(['b'])
  })

  it('gives the same answer whatever the order, ties broken by id', () => {
    const versions = [automatic('b', now - 2 * day), automatic('a', now - 2 * day), automatic('c', now)]
    expect(versionsToDrop(versions, now)).toEqual(['b'])
    expect(versionsToDrop([...versions].reverse(), now)).toEqual(['b'])
  })

  it('a kept version stays kept as time passes unless a coarser bucket holds an older one', () => {
    // Hourly versions over 40 days: thinning at one moment and again later drops only more.
    const versions = Array.from({ length: 40 * 24 }, (_, index) =>
      automatic(`v${index}`, now - 40 * day + index * hour + 1),
    )
    const first = new Set(versionsToDrop(versions, now))
    const later = new Set(versionsToDrop(versions, now + 3 * day))
    for (const id of first) expect(later.has(id)).toBe(true)
    // After 30 days at daily spacing plus 30 days hourly... count the kept ones.
    const kept = versions.length - first.size
    // 10 days older than 30 (one each, the first of those days partly), 29 days hourly (24 each), the last day all.
    expect(kept).toBeGreaterThan(29 * 24)
    expect(kept).toBeLessThan(31 * 24 + 11)
  })

  it('counts a version from the future as young, and keeps everything with no tiers', () => {
    const versions = [automatic('future', now + day), automatic('a', now - 2 * day), automatic('b', now - 2 * day + 1)]
    expect(versionsToDrop(versions, now)).toEqual(['b'])
    expect(versionsToDrop(versions, now, [])).toEqual([])
  })

  it('takes configured tiers', () => {
    const tiers = [{ olderThanMs: 10, oneEveryMs: 100 }]
    const versions = [automatic('a', 0), automatic('b', 50), automatic('c', 150), automatic('d', 195)]
    expect(versionsToDrop(versions, 200, tiers)).toEqual(['b'])
  })
})

describe('checkRetentionTiers', () => {
  it('takes the defaults and refuses tiers out of order, negative or sparser-to-denser', () => {
    expect(() => checkRetentionTiers(defaultRetentionTiers)).not.toThrow()
    expect(() => checkRetentionTiers([{ olderThanMs: 0, oneEveryMs: 1 }])).not.toThrow()
    const refused = [
      [{ olderThanMs: -1, oneEveryMs: 1 }],
      [{ olderThanMs: 1, oneEveryMs: 0 }],
      [{ olderThanMs: Infinity, oneEveryMs: 1 }],
      [
        { olderThanMs: 10, oneEveryMs: 5 },
        { olderThanMs: 10, oneEveryMs: 5 },
      ],
      [
        { olderThanMs: 10, oneEveryMs: 5 },
        { olderThanMs: 20, oneEveryMs: 4 },
      ],
    ]
    for (const tiers of refused)
      expect(() => checkRetentionTiers(tiers)).toThrow(expect.objectContaining({ code: 'invalidRetentionTiers' }))
  })
})
