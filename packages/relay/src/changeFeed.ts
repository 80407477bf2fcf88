/**
 * Owns the `onChange` hook's side: the durable updates of each document,
 * batched while it is being edited (delivered once it has been quiet for a
 * while, or at the latest after a longer while), merged into one update, and
 * handed to the hook one batch per document at a time. A hook that throws or
 * hangs is logged and counted, and never holds up the relay.
 */
import { callHook } from './hookCall.js'
import type { Logger } from './logger.js'
import type { RelayObserver } from './relayObserver.js'
import { mergeUpdates } from './yjsUpdates.js'

export interface DocumentChange {
  readonly name: string
  /** Everything stored for the document since the previous change, as one Yjs update. */
  readonly update: Uint8Array
  /** Who wrote it: the subjects the authenticate hook named (JWT `sub`), or `server` / `api` for the relay's own writers. */
  readonly by: readonly string[]
}

export interface ChangeFeedOptions {
  readonly onChange: (change: DocumentChange) => void | Promise<void>
  /** Deliver once a document has had no new update for this long. */
  readonly debounceMs: number
  /** ... and at the latest this long after the first update of a batch, however busy the document. */
  readonly maxWaitMs: number
  /** A hook call that has not settled by then is given up on (logged, counted) and the next batch goes. */
  readonly hookTimeoutMs: number
  readonly logger: Logger
  readonly observer: RelayObserver
}

interface Batch {
  updates: Uint8Array[]
  readonly by: Set<string>
  timer: NodeJS.Timeout | undefined
  firstAt: number
  /** The hook is running for this document: the batch waits until it is done. */
  delivering: Promise<void> | undefined
}

export class ChangeFeed {
  readonly #batches = new Map<string, Batch>()

  constructor(private readonly options: ChangeFeedOptions) {}

  /** `update` of `name` is durable now. */
  stored(name: string, update: Uint8Array, by: string | undefined): void {
    let batch = this.#batches.get(name)
    if (!batch) {
      batch = { updates: [], by: new Set(), timer: undefined, firstAt: 0, delivering: undefined }
      this.#batches.set(name, batch)
    }
    if (batch.updates.length === 0) batch.firstAt = Date.now()
    batch.updates.push(update)
    if (by !== undefined) batch.by.add(by)
    this.#schedule(name, batch)
  }

  /** Delivers every waiting batch now, and resolves once the hook has had them (or timed out). */
  async flush(): Promise<void> {
    const deliveries: Promise<void>[] = []
    for (const [name, batch] of this.#batches) {
      clearTimeout(batch.timer)
      deliveries.push(this.#deliver(name, batch))
    }
    await Promise.all(deliveries)
  }

  #schedule(name: string, batch: Batch): void {
    clearTimeout(batch.timer)
    const untilMax = batch.firstAt + this.options.maxWaitMs - Date.now()
    batch.timer = setTimeout(
      () => void this.#deliver(name, batch),
      Math.max(0, Math.min(this.options.debounceMs, untilMax)),
    )
    batch.timer.unref()
  }

  async #deliver(name: string, batch: Batch): Promise<void> {
    if (batch.delivering) {
      await batch.delivering
      if (batch.updates.length > 0) await this.#deliver(name, batch)
      return
    }
    if (batch.updates.length === 0) return
    const updates = batch.updates.splice(0)
    const by = [...batch.by]
    batch.by.clear()
    batch.delivering = this.#call({ name, update: updates.length === 1 ? updates[0]! : mergeUpdates(updates), by })
    await batch.delivering
    batch.delivering = undefined
    if (batch.updates.length === 0) this.#batches.delete(name)
    else this.#schedule(name, batch)
  }

  async #call(change: DocumentChange): Promise<void> {
    try {
      await callHook('onChange', () => this.options.onChange(change), this.options.hookTimeoutMs)
    } catch (error) {
      this.options.observer.hookFailed?.('onChange')
      this.options.logger.error({ doc: change.name, err: error }, 'the onChange hook failed')
    }
  }
}
