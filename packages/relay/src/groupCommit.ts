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

/**
 * Commits a batch durably, in one transaction, and resolves only then (with the refusals, if
 * any); rejects if nothing of it was stored.
 */
export type CommitBatch<Item> = (batch: Item[]) => Promise<Refusals | undefined>

interface PendingAppend<Item> {
  readonly item: Item
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class GroupCommit<Item> {
  #queue: PendingAppend<Item>[] = []
  #flushScheduled = false
  #commitsInFlight = 0
  /** The commits started and not yet settled, each settling once its appends have. */
  readonly #inFlight = new Set<Promise<void>>()
  /** Resolved once the queued appends' commit has settled; made only when `settled()` waits on the queue. */
  #queueSettled: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined

  constructor(private readonly commit: CommitBatch<Item>) {}

  /** Queues `item` for the next commit; resolves once that commit is durable. */
  add(item: Item): Promise<void> {
    const added = new Promise<void>((resolve, reject) => {
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
    let committed: Promise<Refusals | undefined>
    try {
      committed = this.commit(batch.map((append) => append.item))
    } catch (error) {
      committed = Promise.reject(error)
    }
    const settled = committed
      .then(
        (refusals) => {
          batch.forEach((append, i) => {
            if (refusals?.has(i)) append.reject(refusals.get(i))
            else append.resolve()
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
