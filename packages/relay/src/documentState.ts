/**
 * Owns the in-memory content of one loaded document: the merged state plus
 * the updates accepted since, merged lazily when someone needs the whole
 * state (a sync step 1) or the tail grows long. The merged state and its
 * state vector are cached, so a join storm on one document merges once.
 */
import * as Y from 'yjs'
import { mergeUpdates } from './yjsUpdates.js'

const emptyStateVector = Y.encodeStateVector(new Y.Doc())

export class DocumentState {
  #updates: Uint8Array[]
  #stateVector: Uint8Array | undefined

  constructor(
    stored: readonly Uint8Array[],
    /** Merge in the background once this many updates are waiting. */
    private readonly mergeAfter = 256,
  ) {
    this.#updates = stored.length > 0 ? [mergeUpdates(stored)] : []
  }

  /** Adds an accepted update. Returns true when the tail is long enough that the caller should schedule `merge()`. */
  add(update: Uint8Array): boolean {
    this.#updates.push(update)
    this.#stateVector = undefined
    return this.#updates.length === this.mergeAfter
  }

  /** Merges everything held into one update and keeps that. */
  merge(): Uint8Array {
    if (this.#updates.length !== 1) this.#updates = [mergeUpdates(this.#updates)]
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
    return stateVector.length === 1 && stateVector[0] === 0 ? state : Y.diffUpdate(state, stateVector)
  }
}
