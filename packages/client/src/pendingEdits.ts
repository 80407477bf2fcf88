/**
 * Owns the edits this device must still get onto the relay (pending): the
 * set of them, found also by their id in the device store, and the order in
 * which they are offered to the network. Edits are offered in the order they
 * were made, each once its first store attempt has finished, so the relay
 * never gets an edit before one it builds on; an edit's bytes are kept until
 * it is both stored and offered.
 */
import * as Y from 'yjs'

/** A local edit not yet acknowledged by the relay. The log owns its local fields, the sync its `seq`. */
export interface PendingEdit {
  /** When it was made in this log's life; 0 for edits loaded from the store. */
  ordinal: number
  /** Its id in the store, once stored. */
  storeId: number | undefined
  /** Its bytes, while they are not stored or not yet offered to the network. */
  update: Uint8Array | undefined
  /**
   * The first clock of each client whose content it holds. A sync step 2
   * sends a pending edit from there whatever the relay's state vector says,
   * so a relay that holds other content under those clocks (another writer
   * squatted them) sees the difference and refuses it, rather than never
   * being sent it.
   */
  from: ReadonlyMap<number, number>
  local: 'storing' | 'stored' | 'unsaved'
  /** It went to the sync (which sends it if the document is open on the relay). */
  offered: boolean
  /**
   * Set by the sync: the sequence number of the frame that settles it on the
   * current connection; 0 when none does yet, -1 when the relay refused that frame.
   */
  seq: number
}

export interface PendingEditsOptions {
  /** Called with each edit, in the order they were made, once it may go to the network. */
  readonly offer: (edit: PendingEdit) => void
  /** Called when the number of pending edits, or what is being stored, may have changed. */
  readonly changed: () => void
  /** Whether the log closed: a closed log offers nothing more. */
  readonly closed: () => boolean
}

export class PendingEdits {
  /** Every pending edit (compaction's merge of unsent edits changes this set too). */
  readonly all = new Set<PendingEdit>()
  /** Pending edits by store id: loaded ones share ordinal 0, so they are told apart by their id. */
  readonly byStoreId = new Map<number, PendingEdit>()
  /** Edits not yet offered to the network, oldest first. */
  readonly #unoffered: PendingEdit[] = []
  readonly #options: PendingEditsOptions
  #lastOrdinal = 0
  /** Edits in their first store attempt. */
  #storing = 0
  #settledWaiters: Array<() => void> = []

  constructor(options: PendingEditsOptions) {
    this.#options = options
  }

  get size(): number {
    return this.all.size
  }

  get lastOrdinal(): number {
    return this.#lastOrdinal
  }

  has(edit: PendingEdit): boolean {
    return this.all.has(edit)
  }

  /** The ordinal of the oldest pending edit; Infinity when none is pending. */
  oldest(): number {
    let oldest = Infinity
    for (const { ordinal } of this.all) oldest = Math.min(oldest, ordinal)
    return oldest
  }

  ownsStoreId(id: number): boolean {
    for (const edit of this.all) if (edit.storeId === id) return true
    return false
  }

  /** A new local edit: pending, in its first store attempt, offered in its turn. */
  record(update: Uint8Array): PendingEdit {
    const edit: PendingEdit = {
      ordinal: ++this.#lastOrdinal,
      storeId: undefined,
      update,
      from: Y.parseUpdateMeta(update).from,
      local: 'storing',
      offered: false,
      seq: 0,
    }
    this.all.add(edit)
    this.#unoffered.push(edit)
    this.#storing++
    return edit
  }

  /**
   * A pending edit read from the store. `late`: the document has been in use
   * without the store's content, so the edit goes to the network like a new one
   * (call `offerReady` after adding them all).
   */
  addLoaded(storeId: number, update: Uint8Array, late: boolean): void {
    const edit: PendingEdit = {
      ordinal: 0,
      storeId,
      update: late ? update : undefined,
      from: Y.parseUpdateMeta(update).from,
      local: 'stored',
      offered: !late,
      seq: 0,
    }
    this.all.add(edit)
    this.byStoreId.set(storeId, edit)
    if (late) this.#unoffered.push(edit)
  }

  /**
   * The store took `edit` under `storeId`. Returns false when the relay
   * acknowledged the edit while it was being stored (its id is then to be
   * written as acknowledged).
   */
  stored(edit: PendingEdit, storeId: number): boolean {
    edit.storeId = storeId
    const stillPending = this.all.has(edit)
    if (stillPending) {
      // The same edit loaded from the store as someone else's pending edit: keep one of the two.
      const loaded = this.byStoreId.get(storeId)
      if (loaded && loaded !== edit) this.all.delete(loaded)
      this.byStoreId.set(storeId, edit)
    }
    if (edit.local === 'storing') this.settle(edit, 'stored')
    else edit.local = 'stored'
    this.#releaseBytes(edit)
    return stillPending
  }

  /** The relay has these edits durably: they stop being pending. Returns the store ids to mark acknowledged. */
  acknowledged(edits: readonly PendingEdit[]): number[] {
    const ids: number[] = []
    for (const edit of edits) {
      if (!this.all.delete(edit)) continue
      if (edit.storeId !== undefined) {
        this.byStoreId.delete(edit.storeId)
        ids.push(edit.storeId)
      }
      // An unsaved edit is retried into the store as acknowledged; an offered stored one needs its bytes no more.
      this.#releaseBytes(edit)
    }
    return ids
  }

  /** Forgets every pending edit (the relay deleted the document). */
  clear(): void {
    this.all.clear()
    this.byStoreId.clear()
    this.#unoffered.length = 0
  }

  /** The first attempt to store `edit` is over: offer every edit to the network that waited only for it. */
  settle(edit: PendingEdit, local: 'stored' | 'unsaved'): void {
    const wasStoring = edit.local === 'storing'
    edit.local = local
    if (!wasStoring) return
    this.#storing--
    this.offerReady()
    if (this.#storing === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve()
    this.#options.changed()
  }

  /** Resolves once no edit is in its first store attempt: every edit made so far is stored or known unsaved. */
  async whenSettled(): Promise<void> {
    while (this.#storing > 0) await new Promise<void>((resolve) => this.#settledWaiters.push(resolve))
  }

  /** Offers the edits at the head of the line whose first store attempt is over, in the order they were made. */
  offerReady(): void {
    while (this.#unoffered[0] && this.#unoffered[0].local !== 'storing') {
      const next = this.#unoffered.shift()!
      next.offered = true
      if (this.all.has(next) && !this.#options.closed()) this.#options.offer(next)
      this.#releaseBytes(next)
    }
  }

  /** An edit's bytes are kept until it is both stored and offered (an unsaved one keeps them for the retries). */
  #releaseBytes(edit: PendingEdit): void {
    if (edit.local === 'stored' && edit.offered) edit.update = undefined
  }
}
