/**
 * Owns a DocStore that lives in memory: for tests and short-lived relays.
 * Nothing survives the process; appends resolve in order.
 */
import type { DocStore } from './docStore.js'
import { StoreClosedError } from './errors.js'

export class MemoryDocStore implements DocStore {
  readonly #logs = new Map<string, Uint8Array[]>()
  #closed = false

  async load(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    return [...(this.#logs.get(doc) ?? [])]
  }

  async append(doc: string, update: Uint8Array): Promise<void> {
    this.#assertOpen()
    const log = this.#logs.get(doc)
    if (log) log.push(update)
    else this.#logs.set(doc, [update])
  }

  async ping(): Promise<void> {
    this.#assertOpen()
  }

  async compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    this.#assertOpen()
    const log = this.#logs.get(doc)
    if (!log || log.length < 2) return 0
    this.#logs.set(doc, [merge(log)])
    return log.length
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
