/**
 * Owns a LocalStore wrapper that injects faults into any LocalStore, for
 * tests of what the client does when the device store fails or is slow. It
 * reaches into nothing: every fault happens at the LocalStore interface, as
 * a browser's IndexedDB would show it.
 *
 *   const store = new FaultInjectingLocalStore(new MemoryLocalStore())
 *
 *   // Fail the next append with a QuotaExceededError (once: the default).
 *   store.fail('append', { error: storeFault('QuotaExceededError') })
 *   // Fail the next 3 loads of document 'a' with an AbortError.
 *   store.fail('load', { error: storeFault('AbortError'), times: 3, doc: 'a' })
 *   // Fail every compaction until cleared: a closed database.
 *   store.fail('compact', { error: storeFault('InvalidStateError'), times: 'untilCleared' })
 *   store.clear('compact')            // or store.clear() for every operation
 *
 *   // Hold every append before it reaches the wrapped store, until released.
 *   store.stall('append')
 *   await store.whenStalled('append') // resolves once a call is held
 *   store.release('append')           // lets the held calls run in order; stops stalling
 *
 *   store.calls                       // every call, in order: { operation, doc }
 *
 * A failing call rejects without reaching the wrapped store, so it changes
 * nothing there (an IndexedDB transaction that aborts keeps none of its
 * writes). A stalled call reaches the wrapped store only when released; a
 * failure set up meanwhile applies to it when it is released. With nothing
 * injected, the wrapper behaves exactly as the store it wraps (it runs the
 * LocalStore conformance suite).
 */
import type { LocalStore, StoredDocument } from '../localStore.js'

export type LocalStoreOperation = 'load' | 'append' | 'acknowledge' | 'compact' | 'mergePending' | 'remove' | 'close'

/** The DOMException names an IndexedDB store fails with. */
export type StoreFaultName = 'QuotaExceededError' | 'AbortError' | 'InvalidStateError' | 'UnknownError'

const faultMessages: Record<StoreFaultName, string> = {
  QuotaExceededError: 'the quota has been exceeded (injected)',
  AbortError: 'the transaction was aborted (injected)',
  InvalidStateError: 'the database connection is closing (injected)',
  UnknownError: 'the operation failed for reasons unrelated to the database itself (injected)',
}

/** A DOMException of the kind IndexedDB rejects with: `name` is what code that handles it looks at. */
export const storeFault = (name: StoreFaultName, message = faultMessages[name]): DOMException =>
  new DOMException(message, name)

export interface FailOptions {
  /** What the call rejects with. Default: an AbortError DOMException. */
  readonly error?: unknown
  /** How many calls fail: a number (default 1), or every call until `clear`. */
  readonly times?: number | 'untilCleared'
  /** Only calls about this document fail (not applicable to `close`). Default: every document. */
  readonly doc?: string
}

interface Failure {
  readonly error: unknown
  remaining: number
  readonly doc: string | undefined
}

interface Stall {
  readonly held: Array<() => void>
  readonly watchers: Array<() => void>
}

export class FaultInjectingLocalStore implements LocalStore {
  /** Every call made, in order, whether it failed, stalled or went through. */
  readonly calls: Array<{ readonly operation: LocalStoreOperation; readonly doc: string | undefined }> = []
  readonly #inner: LocalStore
  readonly #failures = new Map<LocalStoreOperation, Failure[]>()
  readonly #stalls = new Map<LocalStoreOperation, Stall>()

  constructor(inner: LocalStore) {
    this.#inner = inner
  }

  /** The store this one wraps. */
  get inner(): LocalStore {
    return this.#inner
  }

  /** Makes the next calls of `operation` reject (see FailOptions). Failures set up earlier are used up first. */
  fail(operation: LocalStoreOperation, options: FailOptions = {}): this {
    const times = options.times ?? 1
    const failure: Failure = {
      error: options.error ?? storeFault('AbortError'),
      remaining: times === 'untilCleared' ? Infinity : times,
      doc: options.doc,
    }
    if (failure.remaining > 0) this.#failures.set(operation, [...(this.#failures.get(operation) ?? []), failure])
    return this
  }

  /** Removes the failures set up for `operation`, or for every operation. Stalls stay. */
  clear(operation?: LocalStoreOperation): this {
    if (operation) this.#failures.delete(operation)
    else this.#failures.clear()
    return this
  }

  /** Holds every later call of `operation` before it reaches the wrapped store, until `release`. */
  stall(operation: LocalStoreOperation): this {
    if (!this.#stalls.has(operation)) this.#stalls.set(operation, { held: [], watchers: [] })
    return this
  }

  /** Lets the held calls of `operation` (or of every operation) go on, in the order they came, and stops stalling. */
  release(operation?: LocalStoreOperation): this {
    for (const op of operation ? [operation] : [...this.#stalls.keys()]) {
      const stall = this.#stalls.get(op)
      this.#stalls.delete(op)
      for (const resume of stall?.held ?? []) resume()
    }
    return this
  }

  /** How many calls of `operation` are held right now. */
  stalled(operation: LocalStoreOperation): number {
    return this.#stalls.get(operation)?.held.length ?? 0
  }

  /** Resolves once at least `count` calls of `operation` are held; stalls `operation` if it was not stalled. */
  whenStalled(operation: LocalStoreOperation, count = 1): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.stalled(operation) >= count) resolve()
        else this.#stalls.get(operation)?.watchers.push(check)
      }
      if (!this.#stalls.has(operation)) this.stall(operation)
      check()
    })
  }

  load(doc: string): Promise<StoredDocument> {
    return this.#call('load', doc, () => this.#inner.load(doc))
  }

  append(doc: string, update: Uint8Array, pending: boolean): Promise<number> {
    return this.#call('append', doc, () => this.#inner.append(doc, update, pending))
  }

  acknowledge(doc: string, ids: readonly number[]): Promise<void> {
    return this.#call('acknowledge', doc, () => this.#inner.acknowledge(doc, ids))
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#call('compact', doc, () => this.#inner.compact(doc, merge))
  }

  mergePending(doc: string, ids: readonly number[], merge: (updates: Uint8Array[]) => Uint8Array): Promise<boolean> {
    return this.#call('mergePending', doc, () => this.#inner.mergePending(doc, ids, merge))
  }

  remove(doc: string): Promise<void> {
    return this.#call('remove', doc, () => this.#inner.remove(doc))
  }

  close(): Promise<void> {
    return this.#call('close', undefined, () => this.#inner.close())
  }

  async #call<T>(operation: LocalStoreOperation, doc: string | undefined, run: () => Promise<T>): Promise<T> {
    this.calls.push({ operation, doc })
    const stall = this.#stalls.get(operation)
    if (stall) {
      await new Promise<void>((resume) => {
        stall.held.push(resume)
        for (const watcher of stall.watchers.splice(0)) watcher()
      })
    }
    const failure = this.#failures.get(operation)?.find((failure) => failure.doc === undefined || failure.doc === doc)
    if (failure) {
      failure.remaining--
      if (failure.remaining <= 0) {
        const left = this.#failures.get(operation)!.filter((other) => other !== failure)
        if (left.length > 0) this.#failures.set(operation, left)
        else this.#failures.delete(operation)
      }
      throw failure.error
    }
    return run()
  }
}
