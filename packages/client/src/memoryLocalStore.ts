/**
 * Owns a LocalStore that lives in memory: for tests and short-lived Node
 * processes. Nothing survives the process. Bytes are copied in and out, so
 * callers see the same isolation a persistent store gives them.
 */
import { StoreClosedError } from './errors.js'
import type { LocalStore, StoredDocument, StoredUpdate } from './localStore.js'

// `new Uint8Array(bytes)`, not `bytes.slice()`: a Node Buffer's slice shares its memory.
const copy = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

interface MemoryDocument {
  snapshot: Uint8Array | undefined
  updates: StoredUpdate[]
}

export class MemoryLocalStore implements LocalStore {
  readonly #docs = new Map<string, MemoryDocument>()
  #lastId = 0
  #closed = false

  async load(doc: string): Promise<StoredDocument> {
    this.#assertOpen()
    const stored = this.#docs.get(doc)
    return {
      snapshot: stored?.snapshot && copy(stored.snapshot),
      updates: (stored?.updates ?? []).map((update) => ({ ...update, update: copy(update.update) })),
    }
  }

  async append(doc: string, update: Uint8Array, pending: boolean): Promise<number> {
    this.#assertOpen()
    const id = ++this.#lastId
    this.#documentOf(doc).updates.push({ id, update: copy(update), pending })
    return id
  }

  async acknowledge(doc: string, ids: readonly number[]): Promise<void> {
    this.#assertOpen()
    const stored = this.#docs.get(doc)
    if (!stored) return
    const acknowledged = new Set(ids)
    stored.updates = stored.updates.map((update) =>
      acknowledged.has(update.id) ? { ...update, pending: false } : update,
    )
  }

  async compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    this.#assertOpen()
    const stored = this.#docs.get(doc)
    const merged = stored?.updates.filter((update) => !update.pending) ?? []
    if (!stored || merged.length === 0) return 0
    const inputs = merged.map((update) => update.update)
    // Nothing changes until merge has returned, so a merge that throws leaves the document as it was.
    stored.snapshot = copy(merge(stored.snapshot ? [stored.snapshot, ...inputs] : inputs))
    stored.updates = stored.updates.filter((update) => update.pending)
    return merged.length
  }

  async mergePending(
    doc: string,
    ids: readonly number[],
    merge: (updates: Uint8Array[]) => Uint8Array,
  ): Promise<boolean> {
    this.#assertOpen()
    const merging = new Set(ids)
    const stored = this.#docs.get(doc)
    const inputs = stored?.updates.filter((update) => merging.has(update.id)) ?? []
    if (!stored || merging.size < 2 || inputs.length !== merging.size || inputs.some(({ pending }) => !pending)) {
      return false
    }
    const kept = inputs.at(-1)!.id
    const update = copy(merge(inputs.map((input) => input.update)))
    stored.updates = stored.updates
      .filter(({ id }) => id === kept || !merging.has(id))
      .map((stored) => (stored.id === kept ? { id: kept, update, pending: true } : stored))
    return true
  }

  async remove(doc: string): Promise<void> {
    this.#assertOpen()
    this.#docs.delete(doc)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #documentOf(doc: string): MemoryDocument {
    let stored = this.#docs.get(doc)
    if (!stored) this.#docs.set(doc, (stored = { snapshot: undefined, updates: [] }))
    return stored
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
