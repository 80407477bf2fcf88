/**
 * Owns what one open document keeps on the device: loading it into the
 * Y.Doc, storing every update the doc applies, the set of edits this device
 * must still get onto the relay (pending), compaction and the merging of
 * unsent edits, and the state of the device store as the app should see it.
 *
 * Writes: each update is handed to the store in the turn it is made (an
 * append never waits behind a compaction or a merge; those run on their own
 * queue, after the appends have gone quiet). An append that fails keeps its
 * update in memory and is retried with backoff until the store takes it; the
 * edit is offered to the network all the same, so it reaches the relay
 * stored or not. Edits are offered in the order they were made, each once its
 * first append attempt has finished, so the relay never gets an edit before
 * one it builds on.
 *
 * Edits applied from another tab are stored and offered here too: the tab
 * that made one may die before it stores or sends it.
 */
import * as Y from 'yjs'
import { createBackoff, type Backoff } from './backoff.js'
import { LogMaintenance } from './logMaintenance.js'
import { ConcordError } from './errors.js'
import type { LocalStore, StoredDocument } from './localStore.js'
import { fromHandover, fromRelay, fromStore } from './origins.js'

/**
 * `ok`: everything this document holds is stored on the device (or is being).
 * `failing`: a write failed; what it carried stays in memory, is retried, and
 * still goes to the relay. `unavailable`: there is no device store (IndexedDB
 * blocked or missing): the document lives in memory and on the relay only.
 */
export type StorageState = 'ok' | 'failing' | 'unavailable'

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

interface Write {
  readonly update: Uint8Array
  /** The local edit it stores; undefined for an update from the relay. */
  readonly edit: PendingEdit | undefined
  /** An attempt to store it failed: it counts as unsaved until one succeeds. */
  failedBefore: boolean
}

export interface LocalLogOptions {
  readonly id: string
  readonly doc: Y.Doc
  readonly store: Promise<LocalStore>
  /** The edits a closed log of the same document could not store; this one loads after it finished. */
  readonly after?: Promise<readonly Uint8Array[]> | undefined
  /**
   * The state of that closed handle's doc, applied at once: a document
   * closed and opened again (a remount) shows its content without waiting for
   * the writes and the load, and what is typed meanwhile lands where it should.
   */
  readonly seed?: Uint8Array | undefined
  readonly compactAfterUpdates?: number | undefined
  readonly compactAfterBytes?: number | undefined
  /** Called with each edit, in the order they were made, once it may go to the network. */
  readonly offer: (edit: PendingEdit) => void
  /** Called when `pending`, `unsaved` or `storage` may have changed. */
  readonly changed: () => void
  readonly error: (error: ConcordError) => void
}

const loadAttempts = 3
/**
 * An append that has not finished after this long no longer holds its edit
 * (and those after it) back from the network: a stuck store must not stop the
 * sync. It still counts as being stored until it finishes.
 */
const slowAppendMs = 3_000

export class LocalLog {
  readonly #id: string
  readonly #doc: Y.Doc
  readonly #options: LocalLogOptions
  readonly #loaded: Promise<void>
  #isLoaded = false
  /** The store once it opened; undefined before, and for good when it could not open. */
  #store: LocalStore | undefined
  #storage: StorageState = 'ok'
  /** Writes made before the store opened, in order. */
  #waitingForStore: Write[] = []
  readonly #inFlight = new Set<Promise<unknown>>()
  /** Writes that failed and wait for a retry, in the order they were made. */
  #failed: Write[] = []
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  readonly #retryBackoff: Backoff = createBackoff({ initialDelayMs: 50, maxDelayMs: 5_000 })
  #reportedFailure = false
  /** Writes that failed at least once and have not succeeded since (waiting for a retry, or being retried). */
  #unsaved = 0
  /** The stored state could not be read yet: the doc runs without it while reading is retried. */
  #loadFailing = false
  /** Pending edits by ordinal (loaded ones share 0, so they are kept by store id instead). */
  readonly #pending = new Set<PendingEdit>()
  readonly #pendingByStoreId = new Map<number, PendingEdit>()
  /** Edits not yet offered to the network, oldest first. */
  readonly #unoffered: PendingEdit[] = []
  #lastOrdinal = 0
  #storing = 0
  #settledWaiters: Array<() => void> = []
  /** Store ids acknowledged by the relay whose store write failed: written with the next ones. */
  #unwrittenAcks: number[] = []
  readonly #maintenance: LogMaintenance
  /** Handed-over edits this log never applied because it closed first: handed on in turn. */
  #carried: readonly Uint8Array[] = []
  #closed = false

  constructor(options: LocalLogOptions) {
    this.#id = options.id
    this.#doc = options.doc
    this.#options = options
    this.#maintenance = new LogMaintenance({
      id: options.id,
      compactAfterUpdates: options.compactAfterUpdates,
      compactAfterBytes: options.compactAfterBytes,
      pending: this.#pending,
      pendingByStoreId: this.#pendingByStoreId,
      changed: options.changed,
      error: options.error,
    })
    this.#doc.on('update', this.#onUpdate)
    if (options.seed) this.#applyGuarded(() => Y.applyUpdate(this.#doc, options.seed!, fromStore))
    void options.store.then(
      (store) => {
        this.#store = store
        for (const write of this.#waitingForStore.splice(0)) this.#append(write)
      },
      (error: unknown) => {
        this.#storage = 'unavailable'
        this.#options.error(
          new ConcordError('storeUnavailable', 'there is no device store: documents live in memory only', this.#id, {
            cause: error,
          }),
        )
        // Nothing can be stored: every write waiting for the store is settled as memory-only.
        for (const { edit } of this.#waitingForStore.splice(0)) if (edit) this.#settle(edit, 'stored')
        this.#options.changed()
      },
    )
    this.#loaded = this.#load()
  }

  get loaded(): boolean {
    return this.#isLoaded
  }

  /** Resolves once the stored state is in the doc, or the store proved unreadable (then the doc starts empty). */
  whenLoaded(): Promise<void> {
    return this.#loaded
  }

  get storage(): StorageState {
    return this.#storage
  }

  /** Local edits the relay has not acknowledged yet, stored or not. */
  get pending(): number {
    return this.#pending.size
  }

  /** Updates this document holds that the device store does not have yet. */
  get unsaved(): number {
    return this.#unsaved
  }

  /** Whether a write is still in flight, or failed and waits for a retry. */
  get writing(): boolean {
    return this.#inFlight.size > 0 || this.#unsaved > 0 || this.#waitingForStore.length > 0
  }

  get lastOrdinal(): number {
    return this.#lastOrdinal
  }

  pendingEdits(): IterableIterator<PendingEdit> {
    return this.#pending.values()
  }

  /** The ordinal of the oldest pending edit; Infinity when none is pending. */
  oldestPending(): number {
    let oldest = Infinity
    for (const { ordinal } of this.#pending) oldest = Math.min(oldest, ordinal)
    return oldest
  }

  /** Resolves once no append is in its first attempt: every edit made so far is stored or known unsaved. */
  async whenSettled(): Promise<void> {
    while (this.#storing > 0) await new Promise<void>((resolve) => this.#settledWaiters.push(resolve))
  }

  /** The relay has these edits durably: they stop being pending, here and in the store. */
  acknowledged(edits: readonly PendingEdit[]): void {
    const ids: number[] = []
    for (const edit of edits) {
      if (!this.#pending.delete(edit)) continue
      if (edit.storeId !== undefined) {
        this.#pendingByStoreId.delete(edit.storeId)
        ids.push(edit.storeId)
      }
      // An unsaved edit is retried into the store as acknowledged; an offered stored one needs its bytes no more.
      this.#releaseBytes(edit)
    }
    if (ids.length > 0 && this.#store) this.#writeAcks(ids)
    this.#options.changed()
  }

  /**
   * Stops recording, lets every write already made finish (retrying failed
   * ones once), and resolves with the local edits that neither the store nor
   * the relay has: a log opened next for the document applies them again.
   */
  async close(): Promise<readonly Uint8Array[]> {
    if (this.#closed) return []
    this.#closed = true
    this.#doc.off('update', this.#onUpdate)
    clearTimeout(this.#retryTimer)
    this.#maintenance.stop()
    await this.#loaded
    await this.#options.store.catch(() => {})
    await this.#drain()
    if (this.#failed.length > 0 && this.#store) {
      for (const write of this.#failed.splice(0)) this.#append(write)
      await this.#drain()
    }
    await this.#maintenance.settled()
    const unsaved = this.#failed.flatMap(({ update, edit }) => (edit && this.#pending.has(edit) ? [update] : []))
    return [...this.#carried, ...unsaved]
  }

  /**
   * The relay deleted the document, so no edit of it can ever be stored
   * there: stops recording, forgets every pending edit, and unless `keep`,
   * removes what the device store holds of it once the writes in flight end.
   */
  async discard(keep: boolean): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#doc.off('update', this.#onUpdate)
    clearTimeout(this.#retryTimer)
    this.#maintenance.stop()
    this.#pending.clear()
    this.#pendingByStoreId.clear()
    this.#unoffered.length = 0
    this.#failed = []
    this.#unsaved = 0
    this.#options.changed()
    await this.#loaded
    await this.#drain()
    await this.#maintenance.settled()
    if (keep || !this.#store) return
    try {
      await this.#store.remove(this.#id)
    } catch (error) {
      this.#options.error(
        new ConcordError('store', `could not remove the deleted "${this.#id}" from the device`, this.#id, {
          cause: error,
        }),
      )
    }
  }

  /** Resolves once no write is in flight and no compaction or merge is due or running (for tests and tools). */
  async whenIdle(): Promise<void> {
    do {
      await this.#drain()
      await this.#maintenance.whenIdle()
    } while (this.#inFlight.size > 0)
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
  }

  async #load(): Promise<void> {
    const handedOver = (await this.#options.after?.catch(() => [])) ?? []
    const store = await this.#options.store.catch(() => undefined)
    const stored = store ? await this.#read(store) : undefined
    if (stored) this.#applyStored(stored, false)
    else if (store) this.#loadLater(store)
    // What a closed handle of this document could not store: recorded again, as edits of this log.
    if (this.#closed) this.#carried = handedOver
    else for (const update of handedOver) this.#takeOver(update)
    this.#isLoaded = true
    this.#options.changed()
  }

  /**
   * Records an edit a closed handle could not store as an edit of this log.
   * The doc may hold it already (seeded from that handle's doc), and then
   * applying it changes nothing and records nothing: it is recorded anyway.
   */
  #takeOver(update: Uint8Array): void {
    const before = this.#lastOrdinal
    this.#applyGuarded(() => Y.applyUpdate(this.#doc, update, fromHandover))
    if (this.#lastOrdinal === before) this.#record(update)
  }

  /**
   * Applies what the store holds. `late`: the document has been in use (and
   * synced) without it, since the store could not be read at first: its
   * pending edits then go to the network like new ones.
   */
  #applyStored(stored: StoredDocument, late: boolean): void {
    const updates = stored.snapshot ? [stored.snapshot] : []
    for (const { id, update, pending } of stored.updates) {
      updates.push(update)
      // An edit of this log appended before the read is tracked already.
      if (!pending || this.#ownsStoreId(id)) continue
      const edit: PendingEdit = {
        ordinal: 0,
        storeId: id,
        update: late ? update : undefined,
        from: Y.parseUpdateMeta(update).from,
        local: 'stored',
        offered: !late,
        seq: 0,
      }
      this.#pending.add(edit)
      this.#pendingByStoreId.set(id, edit)
      if (late) this.#unoffered.push(edit)
    }
    // One transaction: observers run once, and it costs far less than Y.mergeUpdates of a long log.
    if (updates.length > 0) {
      this.#applyGuarded(() =>
        Y.transact(
          this.#doc,
          () => updates.forEach((update) => Y.applyUpdate(this.#doc, update, fromStore)),
          fromStore,
        ),
      )
    }
    for (const { update } of stored.updates) this.#maintenance.appended(update.length)
    if (late) this.#offerReady()
  }

  /** Keeps trying to read a store that failed to load, with backoff, and applies it once it reads. */
  #loadLater(store: LocalStore): void {
    const backoff = createBackoff({ initialDelayMs: 500, maxDelayMs: 10_000 })
    const attempt = (): void => {
      if (this.#closed) return
      store.load(this.#id).then(
        (stored) => {
          if (this.#closed) return
          this.#loadFailing = false
          this.#applyStored(stored, true)
          this.#updateStorage()
          this.#options.changed()
        },
        () => setTimeout(attempt, backoff.next()),
      )
    }
    setTimeout(attempt, backoff.next())
  }

  /** Reads the stored document, retrying a few times; undefined (and a typed error) if it stays unreadable. */
  async #read(store: LocalStore): Promise<StoredDocument | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await store.load(this.#id)
      } catch (error) {
        if (attempt < loadAttempts) {
          await new Promise((resolve) => setTimeout(resolve, 20 * 4 ** attempt))
          continue
        }
        this.#loadFailing = true
        this.#storage = 'failing'
        this.#options.error(
          new ConcordError(
            'store',
            `could not load "${this.#id}" from the device store; it starts empty here, and loading is retried`,
            this.#id,
            { cause: error },
          ),
        )
        return undefined
      }
    }
  }

  #ownsStoreId(id: number): boolean {
    for (const edit of this.#pending) if (edit.storeId === id) return true
    return false
  }

  /** Applies updates; an app's observer that throws is reported, never lets our state go half-updated. */
  #applyGuarded(apply: () => void): void {
    try {
      apply()
    } catch (error) {
      this.#options.error(
        new ConcordError('observer', `an observer of "${this.#id}" threw while an update was applied`, this.#id, {
          cause: error,
        }),
      )
    }
  }

  readonly #onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === fromStore) return
    if (origin === fromRelay) {
      this.#write({ update, edit: undefined, failedBefore: false })
      return
    }
    // Local edits, edits from another tab, and edits handed over by a closed handle: all must reach the relay.
    this.#record(update)
  }

  /** Tracks `update` as a local edit: pending, stored now, offered to the network in its turn. */
  #record(update: Uint8Array): void {
    const edit: PendingEdit = {
      ordinal: ++this.#lastOrdinal,
      storeId: undefined,
      update,
      from: Y.parseUpdateMeta(update).from,
      local: 'storing',
      offered: false,
      seq: 0,
    }
    this.#pending.add(edit)
    this.#unoffered.push(edit)
    this.#storing++
    this.#write({ update, edit, failedBefore: false })
    this.#options.changed()
  }

  #write(write: Write): void {
    if (this.#storage === 'unavailable') {
      if (write.edit) this.#settle(write.edit, 'stored')
      return
    }
    if (!this.#store) {
      this.#waitingForStore.push(write)
      return
    }
    this.#append(write)
  }

  /** Hands one write to the store now: in the turn the update was made, whatever else runs. */
  #append(write: Write): void {
    const store = this.#store!
    const { edit } = write
    const pending = edit !== undefined && this.#pending.has(edit)
    const appended = store.append(this.#id, write.update, pending).then(
      (id) => this.#stored(write, id),
      (error: unknown) => this.#appendFailed(write, error),
    )
    this.#inFlight.add(appended)
    const slow = edit
      ? setTimeout(() => edit.local === 'storing' && this.#settle(edit, 'unsaved'), slowAppendMs)
      : undefined
    void appended.finally(() => {
      clearTimeout(slow)
      this.#inFlight.delete(appended)
    })
  }

  #stored(write: Write, id: number): void {
    const { edit } = write
    if (edit) {
      edit.storeId = id
      if (this.#pending.has(edit)) {
        // The same edit loaded from the store as someone else's pending edit: keep one of the two.
        const loaded = this.#pendingByStoreId.get(id)
        if (loaded && loaded !== edit) this.#pending.delete(loaded)
        this.#pendingByStoreId.set(id, edit)
      } else {
        // Acknowledged while it was being stored.
        this.#writeAcks([id])
      }
      if (edit.local === 'storing') this.#settle(edit, 'stored')
      else edit.local = 'stored'
      this.#releaseBytes(edit)
    }
    if (write.failedBefore) this.#unsaved--
    this.#maintenance.appended(write.update.length)
    const recovered = this.#failed.length > 0 || this.#storage === 'failing'
    if (recovered) this.#retrySoon(0)
    else if (!this.#closed) this.#maintenance.schedule(this.#store!)
    this.#updateStorage()
  }

  #appendFailed(write: Write, error: unknown): void {
    this.#failed.push(write)
    if (!write.failedBefore) this.#unsaved++
    write.failedBefore = true
    if (write.edit?.local === 'storing') this.#settle(write.edit, 'unsaved')
    else if (write.edit) write.edit.local = 'unsaved'
    if (!this.#reportedFailure) {
      this.#reportedFailure = true
      this.#options.error(
        new ConcordError('store', `changes to "${this.#id}" are not saved on this device; retrying`, this.#id, {
          cause: error,
        }),
      )
    }
    this.#updateStorage()
    this.#retrySoon()
  }

  #retrySoon(delayMs = this.#retryBackoff.next()): void {
    if (this.#closed || this.#retryTimer !== undefined) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#closed || !this.#store) return
      for (const write of this.#failed.splice(0)) this.#append(write)
    }, delayMs)
  }

  #updateStorage(): void {
    if (this.#storage === 'unavailable') return
    const state: StorageState = this.#unsaved > 0 || this.#loadFailing ? 'failing' : 'ok'
    if (state === 'ok') {
      this.#retryBackoff.reset()
      this.#reportedFailure = false
    }
    if (state !== this.#storage) {
      this.#storage = state
      this.#options.changed()
    }
  }

  /** The first attempt to store `edit` is over: offer every edit to the network that waited only for it. */
  #settle(edit: PendingEdit, local: 'stored' | 'unsaved'): void {
    const wasStoring = edit.local === 'storing'
    edit.local = local
    if (!wasStoring) return
    this.#storing--
    this.#offerReady()
    if (this.#storing === 0) for (const resolve of this.#settledWaiters.splice(0)) resolve()
    this.#options.changed()
  }

  /** Offers the edits at the head of the line whose first store attempt is over, in the order they were made. */
  #offerReady(): void {
    while (this.#unoffered[0] && this.#unoffered[0].local !== 'storing') {
      const next = this.#unoffered.shift()!
      next.offered = true
      if (this.#pending.has(next) && !this.#closed) this.#options.offer(next)
      this.#releaseBytes(next)
    }
  }

  /** An edit's bytes are kept until it is both stored and offered (an unsaved one keeps them for the retries). */
  #releaseBytes(edit: PendingEdit): void {
    if (edit.local === 'stored' && edit.offered) edit.update = undefined
  }

  #writeAcks(ids: readonly number[]): void {
    const store = this.#store
    if (!store) return
    this.#maintenance.enqueue(async () => {
      const writing = [...this.#unwrittenAcks.splice(0), ...ids]
      try {
        await store.acknowledge(this.#id, writing)
      } catch {
        // Still pending in the store: at worst sent once more after a reload. Written with the next acks.
        this.#unwrittenAcks.push(...writing)
      }
    })
  }
}
