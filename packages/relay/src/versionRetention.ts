/**
 * Owns which automatic versions retention drops: named versions are kept until deleted; automatic
 * ones are kept all while young, then thinned to one per bucket of time in each older tier (by
 * default all of the last day, one per hour for the last 30 days, one per day after that). Buckets
 * are aligned to the epoch and each keeps its oldest version, so the answer is the same whichever
 * relay asks and whenever: a version kept once is dropped later only when it ages into a coarser
 * tier whose bucket already holds an older one, and two relays that thin at once agree.
 */

/** Versions older than `olderThanMs` keep one per `oneEveryMs` (until an older tier takes over). */
export interface RetentionTier {
  readonly olderThanMs: number
  readonly oneEveryMs: number
}

const hour = 3_600_000
const day = 24 * hour

/** All of the last day, one per hour for the last 30 days, one per day after that. */
export const defaultRetentionTiers: readonly RetentionTier[] = [
  { olderThanMs: day, oneEveryMs: hour },
  { olderThanMs: 30 * day, oneEveryMs: day },
]

/** What retention needs to know of a version. */
export interface RetainedVersion {
  readonly id: string
  /** When it was taken (ms since the epoch). */
  readonly createdAt: number
  /** Named versions (those with a label, restores included) are never dropped. */
  readonly named: boolean
}

export class RetentionTiersError extends Error {
  readonly code = 'invalidRetentionTiers'
}

/** Throws a RetentionTiersError unless every tier is positive and each is older and coarser than the one before. */
export const checkRetentionTiers = (tiers: readonly RetentionTier[]): void => {
  let previous: RetentionTier | undefined
  for (const tier of tiers) {
    const { olderThanMs, oneEveryMs } = tier
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0 || !Number.isFinite(oneEveryMs) || oneEveryMs <= 0) {
      throw new RetentionTiersError('a retention tier needs an age >= 0 and a spacing > 0 (finite, in ms)')
    }
    if (previous && (olderThanMs <= previous.olderThanMs || oneEveryMs < previous.oneEveryMs)) {
      throw new RetentionTiersError('retention tiers go from young to old, each at least as sparse as the one before')
    }
    previous = tier
  }
}

/**
 * The ids of the automatic versions of one document that `tiers` drop at `now`. The newest
 * automatic version is always kept (it holds the document's last state before a quiet spell),
 * and a version from the future (another relay's clock) counts as young.
 */
export const versionsToDrop = (
  versions: readonly RetainedVersion[],
  now: number,
  tiers: readonly RetentionTier[] = defaultRetentionTiers,
): string[] => {
  const automatic = versions.filter((version) => !version.named)
  if (automatic.length === 0 || tiers.length === 0) return []
  const newest = automatic.reduce((a, b) => (b.createdAt > a.createdAt ? b : a))
  // Oldest first, the id breaking ties, so that each bucket keeps the same one whatever the order given.
  const sorted = [...automatic].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const keptBuckets = new Set<string>()
  const drop: string[] = []
  for (const version of sorted) {
    const age = now - version.createdAt
    let tierIndex = -1
    for (let index = tiers.length - 1; index >= 0; index--) {
      if (age >= tiers[index]!.olderThanMs) {
        tierIndex = index
        break
      }
    }
    if (tierIndex < 0 || version === newest) continue
    const bucket = `${tierIndex}:${Math.floor(version.createdAt / tiers[tierIndex]!.oneEveryMs)}`
    if (keptBuckets.has(bucket)) drop.push(version.id)
    else keptBuckets.add(bucket)
  }
  return drop
}
