/**
 * Owns the in-memory content of one loaded document: the merged state plus
 * the updates accepted since, merged lazily when someone needs the whole
 * state (a sync step 1) or the tail grows long. The merged state and its
 * state vector are cached, so a join storm on one document merges once.
 *
 * A merge re-encodes the whole document, so the tail counts as long only
 * once it is a quarter of the merged state too (see longTail.ts).
 *
 * A merge that throws (an update got in that Yjs cannot take) does not take
 * the document down: the updates are merged one at a time and each one that
 * throws is set aside (see quarantine.ts) and reported.
 */
import * as Y from 'yjs'
import { isLongTail } from './longTail.js'
import { mergeSettingAside, type SetAside } from './quarantine.js'

const emptyStateVector = Y.encodeStateVector(new Y.Doc())

/** Whether `stateVector` is that of a peer that holds nothing. */
export const isEmptyStateVector = (stateVector: Uint8Array): boolean => stateVector.length === 1 && stateVector[0] === 0

export class DocumentState {
  #updates: Uint8Array[]
  #stateVector: Uint8Array | undefined
  #tailBytes = 0
  #mergedBytes = 0
  #mergeWanted = false
  /** The updates added since the last merge, each as it was added. */
  #recent: Uint8Array[] = []
  #additions = 0

  constructor(
    stored: readonly Uint8Array[],
    /** Merge in the background once this many updates are waiting. */
    private readonly mergeAfter = 256,
    /** Told of each update a merge had to leave out. Default: none. */
    private readonly onSetAside: (aside: SetAside) => void = () => {},
  ) {
    const merged = mergeSettingAside(stored, onSetAside)
    this.#updates = merged ? [merged] : []
    this.#mergedBytes = this.#updates[0]?.byteLength ?? 0
  }

  /** How many updates were added since the state was made: equal counts, equal content. */
  get additions(): number {
    return this.#additions
  }

  /** The size of the document as last merged, in bytes. */
  get mergedBytes(): number {
    return this.#mergedBytes
  }

  /**
   * Adds an accepted update. Returns true, once until the next merge, when
   * the tail has grown long enough that the caller should schedule `merge()`.
   */
  add(update: Uint8Array): boolean {
    this.#updates.push(update)
    this.#recent.push(update)
    this.#additions++
    this.#stateVector = undefined
    this.#tailBytes += update.byteLength
    const tail = { updates: this.#updates.length, bytes: this.#tailBytes }
    if (this.#mergeWanted || !isLongTail(tail, this.#mergedBytes, this.mergeAfter)) return false
    this.#mergeWanted = true
    return true
  }

  /** Merges everything held into one update and keeps that. */
  merge(): Uint8Array {
    if (this.#updates.length !== 1) {
      const merged = mergeSettingAside(this.#updates, this.onSetAside)
      this.#updates = merged ? [merged] : []
    }
    this.#mergeWanted = false
    this.#recent = []
    this.#tailBytes = 0
    this.#mergedBytes = this.#updates[0]?.byteLength ?? 0
    return this.#updates[0] ?? new Uint8Array([0, 0])
  }

  stateVector(): Uint8Array {
    this.#stateVector ??= this.#updates.length === 0 ? emptyStateVector : Y.encodeStateVectorFromUpdate(this.merge())
    return this.#stateVector
  }

  /** What a peer with `stateVector` lacks: a sync step 2. */
  diff(stateVector: Uint8Array): Uint8Array {
    const state = this.merge()
    // A new peer (empty state vector) needs everything; skip the diff pass.
    return isEmptyStateVector(stateVector) ? state : Y.diffUpdate(state, stateVector)
  }

  /** Everything held, unmerged: the state as last merged, then each update added since. */
  held(): Uint8Array[] {
    return [...this.#updates]
  }

  /**
   * The updates added since the last merge, each as it was added: where to
   * look first for content added lately, without merging the whole document.
   */
  recent(): readonly Uint8Array[] {
    return this.#recent
  }
}
