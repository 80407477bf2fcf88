/**
 * Owns, in cluster mode, how far a room's document is known to hold the store's log: the last row
 * such that the room holds the content of that row and of every row before it. The room learns it
 * from its load (the rows it read), then from each row it applies: its own, once the read-back
 * check found them served, and the other relays' news (which names each row and the one before
 * it). A compaction that merges the log up to that very row can then take the room's merged state
 * instead of merging the log a second time on this thread (see Room#compacted, which also asks that
 * nothing the room holds is still being written or checked, and that it holds nothing the log sets
 * aside: anything quarantined or contradicted stops this for good).
 */
import type { DocStore, StoredRow } from './docStore.js'

/** Rows heard out of order kept while they do not follow the last row held. */
const maxWaiting = 256

export class AppliedRows {
  /** Every row up to this id is held; undefined: not known (not loaded yet, or stopped). */
  #through: bigint | undefined
  /** Rows held past `#through`, by the id of the row before each (0 for none). */
  readonly #waiting = new Map<bigint, bigint>()
  #stopped = false

  /** The room loaded every row up to `lastRow` (undefined: the log was empty). */
  loaded(lastRow: string | undefined): void {
    if (this.#stopped) return
    this.#through = lastRow === undefined ? 0n : BigInt(lastRow)
    this.#follow()
  }

  /** The room holds the content of `row` now (it may have held it already). */
  applied(row: StoredRow): void {
    if (this.#stopped) return
    const id = BigInt(row.id)
    if (this.#through !== undefined && id <= this.#through) return
    this.#waiting.set(row.previous === undefined ? 0n : BigInt(row.previous), id)
    this.#follow()
    // A row never heard of (its news lost): the rows after it can never follow.
    if (this.#waiting.size > maxWaiting) this.stop()
  }

  /** The room may hold content the log does not serve, or lack some it serves: never again known. */
  stop(): void {
    this.#stopped = true
    this.#through = undefined
    this.#waiting.clear()
  }

  /** Whether the room holds every row up to `lastRow`, and no row after it. */
  holdsExactly(lastRow: string): boolean {
    return this.#through !== undefined && this.#waiting.size === 0 && this.#through === BigInt(lastRow)
  }

  #follow(): void {
    if (this.#through === undefined) return
    for (let next = this.#waiting.get(this.#through); next !== undefined; next = this.#waiting.get(this.#through)) {
      this.#waiting.delete(this.#through)
      this.#through = next
    }
    for (const [previous] of this.#waiting) if (previous < this.#through) this.#waiting.delete(previous)
  }
}

/** The stored log of `doc`; with `rows` and a store that names them, with the id of its last row. */
export const readLog = async (
  store: DocStore,
  doc: string,
  rows: boolean,
): Promise<{ readonly stored: Uint8Array[]; readonly lastRow?: string | undefined }> => {
  if (!rows || !store.loadRows) return { stored: await store.load(doc) }
  const read = await store.loadRows(doc)
  return { stored: read.map((row) => row.update), lastRow: read.at(-1)?.id }
}
