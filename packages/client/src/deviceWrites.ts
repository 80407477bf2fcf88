/**
 * Owns the writes of one document's log to the device store. Each update is
 * handed to the store in the turn it is made (an append never waits behind a
 * compaction or a merge; those run on the maintenance queue, after the
 * appends have gone quiet). Writes made before the store opened wait for it.
 * An append that fails keeps its update in memory and is retried with backoff
 * until the store takes it; the edit is offered to the network all the same,
 * so it reaches the relay stored or not. Acknowledgements are written on the
 * maintenance queue, and those that fail go with the next ones.
 */
import { createBackoff, type Backoff } from './backoff.js'
import { ConcordError } from './errors.js'
import type { LocalStore } from './localStore.js'
import type { LogMaintenance } from './logMaintenance.js'
import type { PendingEdit, PendingEdits } from './pendingEdits.js'

export interface Write {
  readonly update: Uint8Array
  /** The local edit it stores; undefined for an update from the relay. */
  readonly edit: PendingEdit | undefined
  /** An attempt to store it failed: it counts as unsaved until one succeeds. */
  failedBefore: boolean
}

export interface DeviceWritesOptions {
  readonly id: string
  readonly pending: PendingEdits
  readonly maintenance: LogMaintenance
  /** Called when `unsaved` may have changed, or a write succeeded after failures. */
  readonly storageChanged: () => void
  /** Whether the log's storage state is `failing`: then a write that succeeds retries the failed ones at once. */
  readonly failing: () => boolean
  /** Whether the log is closed: a closed log schedules no retries and no maintenance. */
  readonly closed: () => boolean
  readonly error: (error: ConcordError) => void
}

/**
 * An append that has not finished after this long no longer holds its edit
 * (and those after it) back from the network: a stuck store must not stop the
 * sync. It still counts as being stored until it finishes.
 */
const slowAppendMs = 3_000

export class DeviceWrites {
  readonly #options: DeviceWritesOptions
  /** The store once it opened; undefined before, and for good when it could not open. */
  #store: LocalStore | undefined
  #unavailable = false
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
  /** Store ids acknowledged by the relay whose store write failed: written with the next ones. */
  #unwrittenAcks: number[] = []

  constructor(options: DeviceWritesOptions) {
    this.#options = options
  }

  /** Updates this document holds that the device store does not have yet. */
  get unsaved(): number {
    return this.#unsaved
  }

  /** Whether a write is still in flight, or failed and waits for a retry. */
  get writing(): boolean {
    return this.#inFlight.size > 0 || this.#unsaved > 0 || this.#waitingForStore.length > 0
  }

  get inFlight(): boolean {
    return this.#inFlight.size > 0
  }

  /** The store opened: the writes that waited for it go now, in order. */
  opened(store: LocalStore): void {
    this.#store = store
    for (const write of this.#waitingForStore.splice(0)) this.#append(write)
  }

  /** There is no device store: every write, waiting or to come, is settled as memory-only. */
  unavailable(): void {
    this.#unavailable = true
    for (const { edit } of this.#waitingForStore.splice(0)) if (edit) this.#options.pending.settle(edit, 'stored')
  }

  write(write: Write): void {
    if (this.#unavailable) {
      if (write.edit) this.#options.pending.settle(write.edit, 'stored')
      return
    }
    if (!this.#store) {
      this.#waitingForStore.push(write)
      return
    }
    this.#append(write)
  }

  /** The store ids of edits the relay acknowledged: marked so in the store, on the maintenance queue. */
  writeAcks(ids: readonly number[]): void {
    const store = this.#store
    if (!store) return
    const { id, maintenance } = this.#options
    maintenance.enqueue(async () => {
      const writing = [...this.#unwrittenAcks.splice(0), ...ids]
      try {
        await store.acknowledge(id, writing)
        // Acknowledged updates are what compaction merges: once acks go quiet, it may be due.
        maintenance.acknowledged(writing.length)
        if (!this.#options.closed()) maintenance.schedule(store)
      } catch {
        // Still pending in the store: at worst sent once more after a reload. Written with the next acks.
        this.#unwrittenAcks.push(...writing)
      }
    })
  }

  /** The store answered a write after failures, or the log reads again: reset the failure backoff and report. */
  recovered(): void {
    this.#retryBackoff.reset()
    this.#reportedFailure = false
  }

  /** Stops retrying (the log is closing). */
  stop(): void {
    clearTimeout(this.#retryTimer)
  }

  /** Forgets the failed writes (the relay deleted the document). */
  forget(): void {
    this.#failed = []
    this.#unsaved = 0
  }

  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight])
  }

  /** Lets every write already made finish, retrying failed ones once; returns the writes still failed. */
  async finish(): Promise<readonly Write[]> {
    await this.drain()
    if (this.#failed.length > 0 && this.#store) {
      for (const write of this.#failed.splice(0)) this.#append(write)
      await this.drain()
    }
    return this.#failed
  }

  /** Hands one write to the store now: in the turn the update was made, whatever else runs. */
  #append(write: Write): void {
    const store = this.#store!
    const { edit } = write
    const { id, pending } = this.#options
    const storedPending = edit !== undefined && pending.has(edit)
    const appended = store.append(id, write.update, storedPending).then(
      (storeId) => this.#stored(write, storeId, storedPending),
      (error: unknown) => this.#appendFailed(write, error),
    )
    this.#inFlight.add(appended)
    const slow = edit
      ? setTimeout(() => edit.local === 'storing' && pending.settle(edit, 'unsaved'), slowAppendMs)
      : undefined
    void appended.finally(() => {
      clearTimeout(slow)
      this.#inFlight.delete(appended)
    })
  }

  #stored(write: Write, storeId: number, storedPending: boolean): void {
    const { edit } = write
    const { pending, maintenance } = this.#options
    // Acknowledged while it was being stored: the store marks it so.
    if (edit && !pending.stored(edit, storeId)) this.writeAcks([storeId])
    if (write.failedBefore) this.#unsaved--
    maintenance.appended(write.update.length, storedPending)
    if (this.#failed.length > 0 || this.#options.failing()) this.#retrySoon(0)
    else if (!this.#options.closed()) maintenance.schedule(this.#store!)
    this.#options.storageChanged()
  }

  #appendFailed(write: Write, error: unknown): void {
    this.#failed.push(write)
    if (!write.failedBefore) this.#unsaved++
    write.failedBefore = true
    const { edit } = write
    if (edit?.local === 'storing') this.#options.pending.settle(edit, 'unsaved')
    else if (edit) edit.local = 'unsaved'
    if (!this.#reportedFailure) {
      this.#reportedFailure = true
      const { id } = this.#options
      this.#options.error(
        new ConcordError('store', `changes to "${id}" are not saved on this device; retrying`, id, { cause: error }),
      )
    }
    this.#options.storageChanged()
    this.#retrySoon()
  }

  #retrySoon(delayMs = this.#retryBackoff.next()): void {
    if (this.#options.closed() || this.#retryTimer !== undefined) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#options.closed() || !this.#store) return
      for (const write of this.#failed.splice(0)) this.#append(write)
    }, delayMs)
  }
}
