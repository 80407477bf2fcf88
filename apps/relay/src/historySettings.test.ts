import { describe, expect, it } from 'vitest'
import { historyOptionsOf, parseRetentionTiers } from './historySettings.js'

const hour = 3_600_000
const day = 24 * hour

const settings = {
  enabled: true,
  quietMs: 1000,
  maxIntervalMs: 5000,
  retention: '1d:1h,30d:1d',
  thinIntervalMs: 60_000,
  thinMaxDocuments: 7,
  thinMaxDeletions: 70,
}

describe('history settings', () => {
  it('parse retention tiers with every unit, and keep-all', () => {
    expect(parseRetentionTiers('1d:1h, 30d:1d')).toEqual([
      { olderThanMs: day, oneEveryMs: hour },
      { olderThanMs: 30 * day, oneEveryMs: day },
    ])
    expect(parseRetentionTiers('500ms:1s,90m:2m,3h:4h')).toEqual([
      { olderThanMs: 500, oneEveryMs: 1000 },
      { olderThanMs: 90 * 60_000, oneEveryMs: 2 * 60_000 },
      { olderThanMs: 3 * hour, oneEveryMs: 4 * hour },
    ])
    expect(parseRetentionTiers('keep-all')).toBe(false)
    expect(() => parseRetentionTiers('1d:1h:1m')).toThrow('<age>:<spacing>')
    expect(() => parseRetentionTiers('30d:1d,1d:1h')).toThrow(
      expect.objectContaining({ code: 'invalidRetentionTiers' }),
    )
  })

  it('become the relay option: false without history, no retention for keep-all', () => {
    expect(historyOptionsOf({ ...settings, enabled: false })).toBe(false)
    expect(historyOptionsOf(settings)).toEqual({
      quietMs: 1000,
      maxIntervalMs: 5000,
      retention: {
        tiers: [
          { olderThanMs: day, oneEveryMs: hour },
          { olderThanMs: 30 * day, oneEveryMs: day },
        ],
        intervalMs: 60_000,
        maxDocumentsPerPass: 7,
        maxDeletionsPerPass: 70,
      },
    })
    expect(historyOptionsOf({ ...settings, retention: 'keep-all' })).toMatchObject({ retention: false })
  })
})
