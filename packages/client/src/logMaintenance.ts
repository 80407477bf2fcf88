/**
 * Owns the upkeep of one document's log in the device store: compaction (the
 * snapshot and every acknowledged update merged into a new snapshot) and the
 * merging of unsent pending edits into one, both started only once appends
 * (and the writes of acks) have gone quiet so that no append ever waits
 * behind them, and the queue they share with the writes of acks.
 */
import * as Y from 'yjs'
import { compactedState } from './compactedState.js'
import { ConcordError } from './errors.js'
import type { PendingEdit } from './pendingEdits.js'
import type { LocalStore } from './localStore.js'

/** Compaction and merges wait for this much quiet after the last append. */
const quietMs = 50

export interface LogMaintenanceOptions {
  readonly id: string
  /**
   * Compact once this many stored updates could be merged (updates from elsewhere, and local
   * edits the relay acknowledged), and merge this many unsent pending edits into one. Default 100.
   */
  readonly compactAfterUpdates?: number | undefined
  /** ... or once the updates stored since the last compaction add up to this many bytes. Default 1 MiB. */
  readonly compactAfterBytes?: number | undefined
  /** The log's pending edits, which a merge of unsent ones changes. */
  readonly pending: Set<PendingEdit>
  readonly pendingByStoreId: Map<number, PendingEdit>
  readonly changed: () => void
  readonly error: (error: ConcordError) => void
}

export class LogMaintenance {
  readonly #options: LogMaintenanceOptions
  readonly #compactAfterUpdates: number
  readonly #compactAfterBytes: number
  #queue: Promise<void> = Promise.resolve()
  #timer: ReturnType<typeof setTimeout> | undefined
  /**
   * Stored updates a compaction would merge now: it leaves pending edits as they are, so
   * a local edit counts once the relay acknowledged it, whether or not an append follows.
   */
  #mergeableSinceCompaction = 0
  #bytesSinceCompaction = 0
  #stopped = false

  constructor(options: LogMaintenanceOptions) {
    this.#options = options
    this.#compactAfterUpdates = options.compactAfterUpdates ?? 100
    this.#compactAfterBytes = options.compactAfterBytes ?? 1024 * 1024
  }

  /** Counts one update now in the store's log (appended, or found there at load); `pending`: stored as pending. */
  appended(bytes: number, pending: boolean): void {
    if (!pending) this.#mergeableSinceCompaction++
    this.#bytesSinceCompaction += bytes
  }

  /** Counts pending updates of the store's log now marked acknowledged. */
  acknowledged(count: number): void {
    this.#mergeableSinceCompaction += count
  }

  /** Runs `task` after every task queued before it. */
  enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task)
  }

  /** Compacts or merges, if due, once appends have gone quiet. */
  schedule(store: LocalStore): void {
    if (this.#stopped || (!this.#compactionDue() && !this.#mergeMayBeDue())) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.enqueue(() => this.#maintain(store))
    }, quietMs)
  }

  /** Starts nothing more; what is queued still runs. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Resolves once everything queued has run. */
  async settled(): Promise<void> {
    let queue: Promise<void>
    do {
      queue = this.#queue
      await queue
    } while (queue !== this.#queue)
  }

  /** Resolves once nothing is due, scheduled or running. */
  async whenIdle(): Promise<void> {
    for (;;) {
      if (this.#timer !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, quietMs))
        continue
      }
      await this.settled()
      if (this.#timer === undefined) return
    }
  }

  #compactionDue(): boolean {
    return (
      this.#mergeableSinceCompaction >= this.#compactAfterUpdates ||
      this.#bytesSinceCompaction >= this.#compactAfterBytes
    )
  }

  #mergeMayBeDue(): boolean {
    return this.#options.pending.size >= Math.max(2, this.#compactAfterUpdates)
  }

  async #maintain(store: LocalStore): Promise<void> {
    if (this.#stopped) return
    const { id } = this.#options
    try {
      if (this.#compactionDue()) {
        this.#mergeableSinceCompaction = this.#bytesSinceCompaction = 0
        await store.compact(id, compactedState)
      }
      await this.#mergeUnsent(store)
    } catch (error) {
      // Nothing is lost: the log stays as it was, and the next run tries again.
      this.#options.error(new ConcordError('store', `could not compact "${id}" on the device`, id, { cause: error }))
    }
  }

  /**
   * Compaction keeps pending updates apart, so an offline session would grow
   * the stored log by one record an edit, and every load would read them all.
   * Once enough wait unsent, they become one. Only unsent ones: all of them
   * then share one fate (a later step 2 carries them together), so the
   * record that holds them all, under the greatest id, is acknowledged
   * exactly when each of them would have been.
   */
  async #mergeUnsent(store: LocalStore): Promise<void> {
    const { id, pending, pendingByStoreId } = this.#options
    const threshold = Math.max(2, this.#compactAfterUpdates)
    if (pending.size < threshold) return
    const unsent = [...pending].filter(
      (edit) => edit.seq === 0 && edit.offered && edit.local === 'stored' && edit.storeId !== undefined,
    )
    if (unsent.length < threshold) return
    const ids = unsent.map((edit) => edit.storeId!)
    if (!(await store.mergePending(id, ids, (updates) => Y.mergeUpdates(updates)))) return
    const keptEdit = pendingByStoreId.get(Math.max(...ids))
    let ordinal = Infinity
    let seq = 0
    const from = new Map<number, number>()
    for (const edit of unsent) {
      ordinal = Math.min(ordinal, edit.ordinal)
      seq = Math.max(seq, edit.seq)
      for (const [client, clock] of edit.from) from.set(client, Math.min(clock, from.get(client) ?? clock))
      if (edit === keptEdit) continue
      pending.delete(edit)
      pendingByStoreId.delete(edit.storeId!)
    }
    if (keptEdit) {
      keptEdit.ordinal = ordinal
      keptEdit.seq = seq
      keptEdit.from = from
    }
    this.#options.changed()
  }
}
