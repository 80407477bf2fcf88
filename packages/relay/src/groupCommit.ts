/**
 * Owns group commit for the stores that commit appends in batches (SQLite, PostgreSQL): the
 * appends made in one event-loop turn are committed together, appends made while a commit is in
 * flight wait for the next one, and an append's promise settles only with its batch. It resolves
 * once the batch is durable; when the commit fails, every append of the batch rejects with its
 * error. What a commit is (one transaction of the store) is the store's, given as `commit`.
 */

/**
 * The appends of a batch that a commit did not store, by their index in the batch, with the error
 * each one's promise rejects with (a removed document's, say). Every other append was stored.
 */
export type Refusals = ReadonlyMap<number, unknown>

/** What a commit tells of its batch: the refusals, and what each stored append resolves with (by index). */
export interface Committed<Result> {
  readonly refusals?: Refusals | undefined
  readonly results: readonly Result[]
}

/**
 * Commits a batch durably, in one transaction, and resolves only then (with the refusals, if
 * any, or with what each append resolves with); rejects if nothing of it was stored.
 */
export type CommitBatch<Item, Result = void> = (batch: Item[]) => Promise<Refusals | Committed<Result> | undefined>

interface PendingAppend<Item, Result> {
  readonly item: Item
  readonly resolve: (result: Result) => void
  readonly reject: (error: unknown) => void
}

const isCommitted = <Result>(outcome: Refusals | Committed<Result>): outcome is Committed<Result> =>
  'results' in outcome && !(outcome instanceof Map)

export class GroupCommit<Item, Result = void> {
  #queue: PendingAppend<Item, Result>[] = []
  #flushScheduled = false
  #commitsInFlight = 0
  /** The commits started and not yet settled, each settling once its appends have. */
  readonly #inFlight = new Set<Promise<void>>()
  /** Resolved once the queued appends' commit has settled; made only when `settled()` waits on the queue. */
  #queueSettled: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined

  constructor(private readonly commit: CommitBatch<Item, Result>) {}

  /** Queues `item` for the next commit; resolves once that commit is durable. */
  add(item: Item): Promise<Result> {
    const added = new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#flushScheduled && this.#commitsInFlight === 0) {
        this.#flushScheduled = true
        // setImmediate runs after the I/O callbacks of this turn: every frame
        // read in this turn joins the same batch.
        setImmediate(() => {
          this.#flushScheduled = false
          if (this.#commitsInFlight === 0) this.commitNow()
        })
      }
    })
    return added
  }

  /**
   * Commits what is queued at once, even while another commit is in flight: for a store that
   * applies its commits in the order they were started (the SQLite worker answers its requests
   * one at a time), so that a request made right after this sees these appends.
   */
  commitNow(): void {
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    const queueSettled = this.#queueSettled
    this.#queueSettled = undefined
    this.#commitsInFlight++
    let committed: Promise<Refusals | Committed<Result> | undefined>
    try {
      committed = this.commit(batch.map((append) => append.item))
    } catch (error) {
      committed = Promise.reject(error)
    }
    const settled = committed
      .then(
        (outcome) => {
          const refusals = outcome && isCommitted(outcome) ? outcome.refusals : outcome
          const results = outcome && isCommitted(outcome) ? outcome.results : undefined
          batch.forEach((append, i) => {
            if (refusals?.has(i)) append.reject(refusals.get(i))
            else append.resolve(results?.[i] as Result)
          })
        },
        (error: unknown) => {
          for (const append of batch) append.reject(error)
        },
      )
      .finally(() => {
        this.#inFlight.delete(settled)
        queueSettled?.resolve()
        // Appends made while this commit was in flight form the next one.
        if (--this.#commitsInFlight === 0 && !this.#flushScheduled) this.commitNow()
      })
    this.#inFlight.add(settled)
  }

  /**
   * Resolves once every append added before the call has settled (resolved or rejected). Kept
   * per commit, not per append: a promise chained on every append was garbage on the hot path.
   */
  async settled(): Promise<void> {
    const waits = [...this.#inFlight]
    if (this.#queue.length > 0) {
      if (!this.#queueSettled) {
        let resolve!: () => void
        const promise = new Promise<void>((done) => (resolve = done))
        this.#queueSettled = { promise, resolve }
      }
      waits.push(this.#queueSettled.promise)
    }
    await Promise.all(waits)
  }
}
