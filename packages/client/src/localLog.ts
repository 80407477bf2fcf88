/**
 * Owns what one open document keeps on the device: loading it into the
 * Y.Doc (retried while the store cannot be read), recording every update the
 * doc applies, closing and discarding, and the state of the device store as
 * the app should see it. The edits still to get onto the relay and the order
 * they are offered in are ./pendingEdits.ts's; the writes to the store and
 * their retries ./deviceWrites.ts's; compaction and the merging of unsent
 * edits ./logMaintenance.ts's.
 *
 * Edits applied from another tab are stored and offered here too: the tab
 * that made one may die before it stores or sends it.
 */
import * as Y from 'yjs'
import { createBackoff } from './backoff.js'
import { mayHoldCollected, withCollectedDeleted } from './collectedDeletions.js'
import { DeviceWrites } from './deviceWrites.js'
import { applyUnheard, onDocUpdate } from './docUpdates.js'
import { LogMaintenance } from './logMaintenance.js'
import { ConcordError } from './errors.js'
import type { LocalStore, StoredDocument } from './localStore.js'
import { fromHandover, fromRelay, fromStore } from './origins.js'
import { PendingEdits, type PendingEdit } from './pendingEdits.js'

/**
 * `ok`: everything this document holds is stored on the device (or is being).
 * `failing`: a write failed; what it carried stays in memory, is retried, and
 * still goes to the relay. `unavailable`: there is no device store (IndexedDB
 * blocked or missing): the document lives in memory and on the relay only.
 */
export type StorageState = 'ok' | 'failing' | 'unavailable'

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

export class LocalLog {
  readonly #id: string
  readonly #doc: Y.Doc
  readonly #options: LocalLogOptions
  readonly #loaded: Promise<void>
  #isLoaded = false
  #storage: StorageState = 'ok'
  /** The stored state could not be read yet: the doc runs without it while reading is retried. */
  #loadFailing = false
  readonly #pending: PendingEdits
  readonly #writes: DeviceWrites
  readonly #maintenance: LogMaintenance
  /** Handed-over edits this log never applied because it closed first: handed on in turn. */
  #carried: readonly Uint8Array[] = []
  #closed = false
  readonly #stopHearing: () => void

  constructor(options: LocalLogOptions) {
    this.#id = options.id
    this.#doc = options.doc
    this.#options = options
    const closed = (): boolean => this.#closed
    this.#pending = new PendingEdits({ offer: options.offer, changed: options.changed, closed })
    this.#maintenance = new LogMaintenance({
      id: options.id,
      compactAfterUpdates: options.compactAfterUpdates,
      compactAfterBytes: options.compactAfterBytes,
      pending: this.#pending.all,
      pendingByStoreId: this.#pending.byStoreId,
      changed: options.changed,
      error: options.error,
    })
    this.#writes = new DeviceWrites({
      id: options.id,
      pending: this.#pending,
      maintenance: this.#maintenance,
      storageChanged: () => this.#updateStorage(),
      failing: () => this.#storage === 'failing',
      closed,
      error: options.error,
    })
    this.#stopHearing = onDocUpdate(this.#doc, this.#onUpdate)
    if (options.seed) {
      const seed = options.seed
      this.#applyGuarded(() => applyUnheard(this.#doc, fromStore, () => Y.applyUpdate(this.#doc, seed, fromStore)))
    }
    void options.store.then(
      (store) => this.#writes.opened(store),
      (error: unknown) => {
        this.#storage = 'unavailable'
        this.#options.error(
          new ConcordError('storeUnavailable', 'there is no device store: documents live in memory only', this.#id, {
            cause: error,
          }),
        )
        this.#writes.unavailable()
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
    return this.#writes.unsaved
  }

  /** Whether a write is still in flight, or failed and waits for a retry. */
  get writing(): boolean {
    return this.#writes.writing
  }

  get lastOrdinal(): number {
    return this.#pending.lastOrdinal
  }

  pendingEdits(): IterableIterator<PendingEdit> {
    return this.#pending.all.values()
  }

  /** The ordinal of the oldest pending edit; Infinity when none is pending. */
  oldestPending(): number {
    return this.#pending.oldest()
  }

  /** Resolves once no append is in its first attempt: every edit made so far is stored or known unsaved. */
  whenSettled(): Promise<void> {
    return this.#pending.whenSettled()
  }

  /** The relay has these edits durably: they stop being pending, here and in the store. */
  acknowledged(edits: readonly PendingEdit[]): void {
    const ids = this.#pending.acknowledged(edits)
    if (ids.length > 0) this.#writes.writeAcks(ids)
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
    this.#stopHearing()
    this.#writes.stop()
    this.#maintenance.stop()
    await this.#loaded
    await this.#options.store.catch(() => {})
    const failed = await this.#writes.finish()
    await this.#maintenance.settled()
    const unsaved = failed.flatMap(({ update, edit }) => (edit && this.#pending.has(edit) ? [update] : []))
    return [...this.#carried, ...unsaved]
  }

  /**
   * The document forks (./clockFork.ts): stops recording like `close`, lets
   * every write already made finish (retrying failed ones once), and
   * resolves with the device store (undefined when there is none) and the
   * local edits it could not store, which the fork moves with the stored ones.
   */
  async stopForFork(): Promise<{ store: LocalStore | undefined; unsaved: readonly Uint8Array[] }> {
    if (this.#closed) return { store: undefined, unsaved: [] }
    this.#closed = true
    this.#stopHearing()
    this.#writes.stop()
    this.#maintenance.stop()
    await this.#loaded
    const store = await this.#options.store.catch(() => undefined)
    const failed = await this.#writes.finish()
    await this.#maintenance.settled()
    const unsaved = failed.flatMap(({ update, edit }) => (edit && this.#pending.has(edit) ? [update] : []))
    this.#writes.forget()
    return { store, unsaved: [...this.#carried, ...unsaved] }
  }

  /**
   * The relay deleted the document, so no edit of it can ever be stored
   * there: stops recording, forgets every pending edit, and unless `keep`,
   * removes what the device store holds of it once the writes in flight end.
   */
  async discard(keep: boolean): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#stopHearing()
    this.#writes.stop()
    this.#maintenance.stop()
    this.#pending.clear()
    this.#writes.forget()
    this.#options.changed()
    await this.#loaded
    await this.#writes.drain()
    await this.#maintenance.settled()
    const store = await this.#options.store.catch(() => undefined)
    if (keep || !store) return
    try {
      await store.remove(this.#id)
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
      await this.#writes.drain()
      await this.#maintenance.whenIdle()
    } while (this.#writes.inFlight)
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
    const before = this.#pending.lastOrdinal
    this.#applyGuarded(() => Y.applyUpdate(this.#doc, update, fromHandover))
    if (this.#pending.lastOrdinal === before) this.#record(update)
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
      if (!pending || this.#pending.ownsStoreId(id)) continue
      this.#pending.addLoaded(id, update, late)
    }
    // One transaction: observers run once, and it costs far less than Y.mergeUpdates of a long log.
    if (updates.length > 0) {
      // Unheard: none of the client's parts needs it, and so Yjs need not encode it again (docUpdates.ts).
      this.#applyGuarded(() =>
        applyUnheard(this.#doc, fromStore, () =>
          Y.transact(
            this.#doc,
            () => updates.forEach((update) => Y.applyUpdate(this.#doc, update, fromStore)),
            fromStore,
          ),
        ),
      )
    }
    for (const { update, pending } of stored.updates) this.#maintenance.appended(update.length, pending)
    if (late) this.#pending.offerReady()
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

  readonly #onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction): void => {
    // A closed log records nothing, whoever still delivers to it.
    if (origin === fromStore || this.#closed) return
    if (origin === fromRelay) {
      this.#writes.write({ update, edit: undefined, failedBefore: false })
      return
    }
    // Local edits, edits from another tab, and edits handed over by a closed handle: all must reach the relay,
    // the applied ones saying that what Yjs collected as it applied them is deleted (see collectedDeletions.ts).
    this.#record(mayHoldCollected(transaction) ? withCollectedDeleted(update) : update)
  }

  /** Tracks `update` as a local edit: pending, stored now, offered to the network in its turn. */
  #record(update: Uint8Array): void {
    const edit = this.#pending.record(update)
    this.#writes.write({ update, edit, failedBefore: false })
    this.#options.changed()
  }

  #updateStorage(): void {
    if (this.#storage === 'unavailable') return
    const state: StorageState = this.#writes.unsaved > 0 || this.#loadFailing ? 'failing' : 'ok'
    if (state === 'ok') this.#writes.recovered()
    if (state !== this.#storage) {
      this.#storage = state
      this.#options.changed()
    }
  }
}
