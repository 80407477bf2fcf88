/**
 * Owns a DocStore that lives in memory: for tests and short-lived relays.
 * Nothing survives the process; appends resolve in order.
 */
import { createHash } from 'node:crypto'
import type { DocStore, QuarantinedUpdate } from './docStore.js'
import { StoreClosedError } from './errors.js'

export class MemoryDocStore implements DocStore {
  readonly #logs = new Map<string, Uint8Array[]>()
  /** By document, then by digest of the update: one copy of each. */
  readonly #quarantined = new Map<string, Map<string, QuarantinedUpdate>>()
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

  async quarantine(doc: string, update: Uint8Array, reason: string): Promise<void> {
    this.#assertOpen()
    const digest = createHash('sha256').update(update).digest('hex')
    const aside = this.#quarantined.get(doc) ?? new Map<string, QuarantinedUpdate>()
    this.#quarantined.set(doc, aside)
    if (!aside.has(digest)) aside.set(digest, { update: new Uint8Array(update), reason })
  }

  async loadQuarantined(doc: string): Promise<QuarantinedUpdate[]> {
    this.#assertOpen()
    return [...(this.#quarantined.get(doc)?.values() ?? [])]
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
