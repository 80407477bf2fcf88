/**
 * Owns the relay's patience with its store: every load, append and compact
 * it makes rejects with a StoreTimeoutError if the store has not answered
 * within the timeout, so a store that hangs (a disk that stalls, a database
 * that stopped answering) refuses documents (4503) instead of holding their
 * clients, and the frames they sent, forever. The store's own call goes on;
 * its late answer is ignored.
 */
import type { DocStore, NewVersion } from './docStore.js'
import { StoreTimeoutError } from './errors.js'
import type { OutboxEvent } from './webhookOutbox.js'

/** A store call that has not settled yet. */
interface Waiting {
  /** When it times out, in `performance.now()` time. */
  readonly deadline: number
  readonly operation: string
  readonly reject: (error: unknown) => void
  settled: boolean
}

/**
 * The store calls not settled yet, oldest first, under one timer. All share one timeout, so the
 * oldest is the first due. A timer per call was a Timeout made, listed and cleared for every
 * append on the hot path (4% of a saturated relay's main thread); here a call costs an entry,
 * and the timer is re-armed about once per timeout. It holds the process open only while a call
 * waits, as a timer per call did.
 */
class Deadlines {
  readonly #waiting: Waiting[] = []
  /** The index of the oldest entry still listed: settled entries at the head are skipped, not spliced each time. */
  #head = 0
  #timer: NodeJS.Timeout | undefined

  constructor(private readonly timeoutMs: number) {}

  within<T>(operation: string, call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { deadline: performance.now() + this.timeoutMs, operation, reject, settled: false }
      this.#waiting.push(waiting)
      if (this.#timer) this.#timer.ref()
      else this.#timer = setTimeout(this.#expire, this.timeoutMs)
      call.then(
        (value) => {
          if (this.#settle(waiting)) resolve(value)
        },
        (error: unknown) => {
          if (this.#settle(waiting)) reject(error)
        },
      )
    })
  }

  /** Whether `waiting` was still waiting (it had not timed out). */
  #settle(waiting: Waiting): boolean {
    if (waiting.settled) return false
    waiting.settled = true
    this.#dropSettledHead()
    return true
  }

  #dropSettledHead(): void {
    const waiting = this.#waiting
    while (this.#head < waiting.length && waiting[this.#head]!.settled) this.#head++
    if (this.#head === waiting.length) {
      waiting.length = this.#head = 0
      // Nothing waits: the timer fires once more, finds nothing, and is not armed again.
      this.#timer?.unref()
    } else if (this.#head > 1024 && this.#head * 2 > waiting.length) {
      waiting.splice(0, this.#head)
      this.#head = 0
    }
  }

  readonly #expire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const waiting = this.#waiting
    while (this.#head < waiting.length) {
      const oldest = waiting[this.#head]!
      if (!oldest.settled) {
        if (oldest.deadline > now) break
        oldest.settled = true
        oldest.reject(new StoreTimeoutError(oldest.operation, this.timeoutMs))
      }
      this.#head++
    }
    this.#dropSettledHead()
    if (this.#head < waiting.length) this.#timer = setTimeout(this.#expire, waiting[this.#head]!.deadline - now)
  }
}

/** `store`, with a timeout on each load, append, compact (and compactTo), quarantine, remove and saveVersion. The others are the store's own. */
export const timedStore = (store: DocStore, timeoutMs: number): DocStore => {
  const deadlines = new Deadlines(timeoutMs)
  const within = <T>(operation: string, call: Promise<T>): Promise<T> => deadlines.within(operation, call)
  const { quarantine, loadQuarantined, list, remove, saveVersion, listVersions, loadVersion, deleteVersions } = store
  const { claimOutbox, ackOutbox, retryOutbox, outboxStats, recordEvents, loadRows, contest, loadContested } = store
  const { compactTo } = store
  return {
    load: (doc) => within('load', store.load(doc)),
    ...(loadRows && {
      loadRows: (doc: string, after?: string, through?: string) =>
        within('load', loadRows.call(store, doc, after, through)),
    }),
    append: (doc, update, events) => within('append', store.append(doc, update, events)),
    compact: (doc, merge) => within('compact', store.compact(doc, merge)),
    ...(compactTo && {
      compactTo: (doc: string, state: Uint8Array) => within('compact', compactTo.call(store, doc, state)),
    }),
    ...(quarantine && {
      quarantine: (doc: string, update: Uint8Array, reason: string) =>
        within('quarantine', quarantine.call(store, doc, update, reason)),
    }),
    ...(contest && {
      contest: (doc: string, clients: readonly number[]) => within('contest', contest.call(store, doc, clients)),
    }),
    ...(loadContested && {
      loadContested: (doc: string) => within('load', loadContested.call(store, doc)),
    }),
    ...(loadQuarantined && { loadQuarantined: (doc: string) => loadQuarantined.call(store, doc) }),
    ...(list && { list: list.bind(store) }),
    ...(remove && {
      remove: (doc: string, events?: readonly OutboxEvent[]) => within('remove', remove.call(store, doc, events)),
    }),
    // The outbox's delivery has its own patience (its lease).
    ...(claimOutbox && { claimOutbox: claimOutbox.bind(store) }),
    ...(ackOutbox && { ackOutbox: ackOutbox.bind(store) }),
    ...(retryOutbox && { retryOutbox: retryOutbox.bind(store) }),
    ...(outboxStats && { outboxStats: outboxStats.bind(store) }),
    ...(recordEvents && {
      recordEvents: (events: readonly OutboxEvent[]) => within('recordEvents', recordEvents.call(store, events)),
    }),
    ...(saveVersion && {
      saveVersion: (doc: string, version: NewVersion) => within('saveVersion', saveVersion.call(store, doc, version)),
    }),
    ...(listVersions && { listVersions: listVersions.bind(store) }),
    ...(loadVersion && { loadVersion: loadVersion.bind(store) }),
    ...(deleteVersions && { deleteVersions: deleteVersions.bind(store) }),
    ping: () => store.ping(),
    close: () => store.close(),
  }
}
