/**
 * Owns one loaded document's log in the store, as its room writes it: the appends in the order
 * they were begun (and what waits on them: the last one, how many are in flight), the tail stored
 * since the last compaction, and compacting the log once that tail is long, or on unload. What
 * replaces the log on compaction, and what an append that committed or failed means for the
 * document, are the room's.
 */
import type { DocStore, StoredRow } from './docStore.js'
import type { Logger } from './logger.js'
import { isLongTail } from './longTail.js'
import { durable, type SyncOutcome } from './roomPeer.js'
import type { OutboxEvent } from './webhookOutbox.js'

/** What of its room the log reads and tells. */
export interface DocumentLogRoom {
  readonly name: string
  readonly store: DocStore
  readonly logger: Logger
  /** Compact the stored log once this many updates were stored since the last compaction. */
  readonly compactAfterUpdates: number
  /** An append committed: `update`, written by `by`, is durable. */
  readonly appended: (update: Uint8Array, by: string | undefined) => void
  /** An append failed. */
  readonly failed: (error: unknown) => void
  /** The bytes of the document's merged state, as the room last merged it. */
  readonly mergedBytes: () => number
  /** What replaces the stored `log`, and the id of its last row where the store names rows (see DocStore.compact). */
  readonly compacted: (log: Uint8Array[], lastRow?: string) => Uint8Array
  /**
   * What replaces the whole stored log without reading it (see DocStore.compactTo), now; undefined
   * when the log must be read to know (cluster mode).
   */
  readonly stateToStore: () => Uint8Array | undefined
  /** Whether the room is gone: it then begins no compaction of its own. */
  readonly gone: () => boolean
}

const ignore = (): void => {}

export class DocumentLog {
  #lastWrite: Promise<void> = Promise.resolve()
  #pendingWrites = 0
  #storedSinceCompaction = 0
  #storedBytesSinceCompaction = 0
  #compaction: Promise<void> | undefined
  /** A compaction was due while one ran: the appends it could not see wait for the next, run once it ends. */
  #compactAgain = false

  constructor(private readonly room: DocumentLogRoom) {}

  /** The document was loaded with `stored`: the tail since the last compaction. */
  loaded(stored: readonly Uint8Array[]): void {
    this.#storedSinceCompaction = stored.length
    this.#storedBytesSinceCompaction = stored.reduce((bytes, update) => bytes + update.byteLength, 0)
  }

  /** Appends `update`, written by `by`, with its webhook `events`; resolves as the store's append does. */
  append(
    update: Uint8Array,
    by: string | undefined,
    events: readonly OutboxEvent[] | undefined,
  ): Promise<StoredRow | void> {
    const { name, store } = this.room
    this.#pendingWrites++
    const write = store.append(name, update, events)
    // Rejects as the write does, for those who wait on it; handled here, as `write` is below.
    this.#lastWrite = write.then(ignore)
    this.#lastWrite.catch(ignore)
    write.then(
      () => {
        this.#pendingWrites--
        this.room.appended(update, by)
        this.#storedBytesSinceCompaction += update.byteLength
        const tail = { updates: ++this.#storedSinceCompaction, bytes: this.#storedBytesSinceCompaction }
        // A compaction re-merges the whole document on this thread (see DocumentState), which the room has
        // just merged in memory too: wait until the log since holds as much again as the document.
        if (isLongTail(tail, this.room.mergedBytes(), this.room.compactAfterUpdates, 1)) this.compact()
      },
      (error: unknown) => {
        this.#pendingWrites--
        this.room.failed(error)
      },
    )
    return write
  }

  /** Whether an append is in flight. */
  get writing(): boolean {
    return this.#pendingWrites > 0
  }

  /** Durable once everything stored before it is; a failed write refuses the peers instead. */
  afterLastWrite(): Promise<SyncOutcome> {
    return this.#lastWrite.then(() => durable)
  }

  /**
   * Compacts the log, on the next turn of the event loop, unless the room is gone; when a compaction
   * runs, once it ends (appends stored meanwhile may not be in it, and no later append may come to ask).
   */
  compact(): void {
    if (this.room.gone()) return
    if (this.#compaction) {
      this.#compactAgain = true
      return
    }
    this.#compactAgain = false
    const { name, logger } = this.room
    this.#storedSinceCompaction = this.#storedBytesSinceCompaction = 0
    this.#compaction = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#compactStore())
      .then(
        (merged) => logger.debug({ doc: name, merged }, 'document log compacted'),
        // The log is intact when compaction fails (it is one transaction); the next one retries.
        (error: unknown) => logger.warn({ doc: name, err: error }, 'compaction failed'),
      )
      .finally(() => {
        this.#compaction = undefined
        if (this.#compactAgain) this.compact()
      })
  }

  /** The room unloaded, every write settled: leaves a single row behind, so the next load reads one update. */
  compactOnUnload(): void {
    if (this.#storedSinceCompaction <= 1) return
    const { name, logger } = this.room
    this.#compactStore().catch((error: unknown) => {
      logger.warn({ doc: name, err: error }, 'compaction on unload failed')
    })
  }

  /**
   * Where the store can take the merged state as it is, and the room has it: the log is never read
   * back (for the SQLite store: never copied to the worker, packed and sent back whole, which left
   * tens of MiB in glibc's arenas after the automerge-paper replay). Otherwise the log is read and
   * merged as the room says.
   */
  #compactStore(): Promise<number> {
    const { name, store } = this.room
    const { compactTo } = store
    const state = compactTo && this.room.stateToStore()
    return state
      ? compactTo.call(store, name, state)
      : store.compact(name, (log, lastRow) => this.room.compacted(log, lastRow))
  }

  /** Resolves once no write or compaction is in flight. */
  async settled(): Promise<void> {
    while (this.#pendingWrites > 0 || this.#compaction) {
      await Promise.allSettled([this.#lastWrite, this.#compaction])
    }
  }
}
