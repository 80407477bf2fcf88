/**
 * Owns which clocks of which Yjs clients a document already holds. In Yjs an
 * id (client, clock) names one piece of content forever, so content that
 * arrives for an id the document holds is either a repeat (which a Y.Doc
 * skips) or a forgery: two contents under one id make replicas differ, or
 * throw in every Y.Doc that meets both. Knowing the clocks lets the room
 * drop repeats and check the rest without building a Y.Doc.
 */
import type { ClockRange } from './yjsUpdates.js'

/** [start, end) pairs, sorted, disjoint and not adjacent. */
type Runs = Array<[number, number]>

export class KnownClocks {
  readonly #runs = new Map<number, Runs>()

  constructor(ranges: Iterable<ClockRange> = []) {
    this.add(ranges)
  }

  /** A copy, that changes apart from this one. */
  copy(): KnownClocks {
    const copy = new KnownClocks()
    for (const [client, runs] of this.#runs)
      copy.#runs.set(
        client,
        runs.map(([start, end]) => [start, end]),
      )
    return copy
  }

  /** The first clock of `client` that is not held with every clock before it. */
  next(client: number): number {
    const first = this.#runs.get(client)?.[0]
    return first && first[0] === 0 ? first[1] : 0
  }

  /** Whether clock `clock` of `client` is held. */
  holds(client: number, clock: number): boolean {
    return this.firstUnheld(client, clock) > clock
  }

  /** The first clock of `client` from `clock` on that is not held. */
  firstUnheld(client: number, clock: number): number {
    for (const [start, end] of this.#runs.get(client) ?? []) {
      if (start > clock) break
      if (end > clock) return end
    }
    return clock
  }

  /** The next clock of each client of `ranges`, as a state vector. */
  stateVectorFor(ranges: Iterable<ClockRange>): Map<number, number> {
    const stateVector = new Map<number, number>()
    for (const { client } of ranges) stateVector.set(client, this.next(client))
    return stateVector
  }

  /** The parts of `ranges` already held. */
  held(ranges: Iterable<ClockRange>): ClockRange[] {
    const overlaps: ClockRange[] = []
    for (const { client, start, end } of ranges) {
      for (const [runStart, runEnd] of this.#runs.get(client) ?? []) {
        if (runStart >= end) break
        if (runEnd > start) overlaps.push({ client, start: Math.max(start, runStart), end: Math.min(end, runEnd) })
      }
    }
    return overlaps
  }

  add(ranges: Iterable<ClockRange>): void {
    for (const { client, start, end } of ranges) {
      if (end <= start) continue
      const runs = this.#runs.get(client) ?? []
      this.#runs.set(client, runs)
      // Join the new run with every run it overlaps or touches.
      let first = 0
      while (first < runs.length && runs[first]![1] < start) first++
      let last = first
      let joined: [number, number] = [start, end]
      while (last < runs.length && runs[last]![0] <= end) {
        joined = [Math.min(joined[0], runs[last]![0]), Math.max(joined[1], runs[last]![1])]
        last++
      }
      runs.splice(first, last - first, joined)
    }
  }
}
