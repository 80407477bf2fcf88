/**
 * Owns the verdict on writes, counted the way Jepsen's set checker does:
 * every write adds one unique element; at the end each element is looked up
 * in the final state. An element the relay acknowledged, or that a replica
 * committed to its store, and that is missing is lost; an element present
 * that no one attempted (or present twice) is unexpected; one present that
 * was never acknowledged is recovered.
 */

export interface SetCheck {
  readonly attempted: number
  readonly acknowledged: number
  /** Committed to a replica's store (acknowledged ones included). */
  readonly committed: number
  /** Acknowledged by the relay but missing from the final state: must be 0. */
  readonly lost: readonly string[]
  /** Committed locally (not known as acknowledged) but missing: must be 0, a committed write is durable. */
  readonly lostCommitted: readonly string[]
  /** Present but never attempted, or present more than once: must be 0. */
  readonly unexpected: readonly string[]
  /** Present though never acknowledged. */
  readonly recovered: number
}

export interface WriteRecord {
  readonly attempted: ReadonlySet<string>
  readonly committed: ReadonlySet<string>
  readonly acknowledged: ReadonlySet<string>
}

export const checkSet = ({ attempted, committed, acknowledged }: WriteRecord, final: readonly string[]): SetCheck => {
  const present = new Set<string>()
  const unexpected: string[] = []
  for (const element of final) {
    if (present.has(element) || !attempted.has(element)) unexpected.push(element)
    present.add(element)
  }
  const lost = [...acknowledged].filter((element) => !present.has(element))
  const lostCommitted = [...committed].filter((element) => !acknowledged.has(element) && !present.has(element))
  let recovered = 0
  for (const element of present) if (attempted.has(element) && !acknowledged.has(element)) recovered++
  return {
    attempted: attempted.size,
    acknowledged: acknowledged.size,
    committed: new Set([...committed, ...acknowledged]).size,
    lost,
    lostCommitted,
    unexpected,
    recovered,
  }
}
