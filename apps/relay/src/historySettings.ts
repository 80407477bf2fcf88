/**
 * Owns how the service's `--history-*` settings become the relay's `history` option, and how
 * `--history-retention` is written: `keep-all`, or tiers `<age>:<spacing>`
 * separated by commas, youngest first (`1d:1h,30d:1d` is the default: all versions younger than a
 * day, then one per hour, then from 30 days one per day). Durations are a whole number with `ms`,
 * `s`, `m`, `h` or `d`.
 */
import { checkRetentionTiers, type HistoryOptions, type RetentionTier } from '@concord/relay'

const units: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export const defaultRetentionText = '1d:1h,30d:1d'

const durationOf = (text: string): number | undefined => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim())
  return match ? Number(match[1]) * units[match[2]!]! : undefined
}

/** The tiers `text` says, `false` for `keep-all`; throws an Error whose message says what is wrong. */
export const parseRetentionTiers = (text: string): readonly RetentionTier[] | false => {
  if (text.trim() === 'keep-all') return false
  const tiers = text.split(',').map((part) => {
    const [age, spacing, extra] = part.split(':')
    const olderThanMs = age === undefined ? undefined : durationOf(age)
    const oneEveryMs = spacing === undefined ? undefined : durationOf(spacing)
    if (extra !== undefined || olderThanMs === undefined || oneEveryMs === undefined) {
      throw new Error(`"${part.trim()}" is not <age>:<spacing> (durations like 90m, 1d)`)
    }
    return { olderThanMs, oneEveryMs }
  })
  checkRetentionTiers(tiers)
  return tiers
}

/** The error of `--history-retention=<text>`, undefined when it is fine. */
export const retentionProblem = (text: string): string | undefined => {
  try {
    parseRetentionTiers(text)
    return undefined
  } catch (error) {
    return `--history-retention: ${(error as Error).message} (or keep-all)`
  }
}

export interface HistorySettings {
  readonly enabled: boolean
  readonly quietMs: number
  readonly maxIntervalMs: number
  readonly retention: string
  readonly thinIntervalMs: number
  readonly thinMaxDocuments: number
  readonly thinMaxDeletions: number
}

/** The relay's `history` option for these settings (checked already, so `retention` parses). */
export const historyOptionsOf = (settings: HistorySettings): HistoryOptions | false => {
  if (!settings.enabled) return false
  const tiers = parseRetentionTiers(settings.retention)
  return {
    quietMs: settings.quietMs,
    maxIntervalMs: settings.maxIntervalMs,
    retention: tiers && {
      tiers,
      intervalMs: settings.thinIntervalMs,
      maxDocumentsPerPass: settings.thinMaxDocuments,
      maxDeletionsPerPass: settings.thinMaxDeletions,
    },
  }
}
