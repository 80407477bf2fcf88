/**
 * Owns the webhook outbox of the MemoryDocStore: the events in a map, by id,
 * in the order they were recorded. Lost with the process, as the store's
 * documents are.
 */
import {
  joinChanged,
  type ClaimedOutboxEvent,
  type DocStoreOutbox,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxStats,
  type StateVectorClocks,
} from './webhookOutbox.js'

interface Row extends OutboxEvent {
  readonly createdAt: number
  /** When it may be claimed: its debounce, then its lease or retry time. */
  readonly dueAt: number
  readonly attempts: number
}

export class MemoryOutbox implements DocStoreOutbox {
  /** Insertion order is claim order among due events. */
  readonly #rows = new Map<string, Row>()
  /** The waiting (never claimed) document.changed event of each document, by id. */
  readonly #waitingChanged = new Map<string, string>()
  /** Each document's clocks, as its changed events reached them: a claimed changed event takes them. */
  readonly #clocks = new Map<string, Map<string, number>>()

  record(events: readonly OutboxEvent[]): void {
    for (const event of events) {
      if (event.type === 'document.changed') this.#reach(event.doc, event.stateVector)
      const waitingId = event.type === 'document.changed' ? this.#waitingChanged.get(event.doc) : undefined
      const waiting = waitingId === undefined ? undefined : this.#rows.get(waitingId)
      if (waiting && waiting.attempts === 0) {
        const joined = joinChanged(waiting, event)
        this.#rows.set(waiting.id, { ...joined, dueAt: joined.deliverAfter })
        continue
      }
      this.#rows.set(event.id, { ...event, createdAt: event.time, dueAt: event.deliverAfter, attempts: 0 })
      if (event.type === 'document.changed') this.#waitingChanged.set(event.doc, event.id)
    }
  }

  /** `doc` is deleted: its waiting changed event keeps the clocks, which are forgotten. */
  removed(doc: string): void {
    const waitingId = this.#waitingChanged.get(doc)
    const waiting = waitingId === undefined ? undefined : this.#rows.get(waitingId)
    if (waiting) this.#rows.set(waiting.id, { ...waiting, stateVector: this.#clocksOf(doc, waiting) })
    this.#clocks.delete(doc)
  }

  #reach(doc: string, stateVector: StateVectorClocks): void {
    const clocks = this.#clocks.get(doc) ?? new Map<string, number>()
    this.#clocks.set(doc, clocks)
    for (const client in stateVector) clocks.set(client, Math.max(clocks.get(client) ?? 0, stateVector[client]!))
  }

  #clocksOf(doc: string, row: Row): StateVectorClocks {
    const clocks = this.#clocks.get(doc)
    return clocks ? Object.fromEntries(clocks) : row.stateVector
  }

  async claimOutbox({ now, leaseMs, limit }: OutboxClaim): Promise<ClaimedOutboxEvent[]> {
    const due = [...this.#rows.values()]
      .filter((row) => row.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit)
    return due.map((row) => {
      // A changed event's first claim freezes the document's clocks into it: its state after the event.
      const clocks =
        row.type === 'document.changed' && row.attempts === 0 ? this.#clocksOf(row.doc, row) : row.stateVector
      const claimed = { ...row, stateVector: clocks, dueAt: now + leaseMs, attempts: row.attempts + 1 }
      this.#rows.set(row.id, claimed)
      if (this.#waitingChanged.get(row.doc) === row.id) this.#waitingChanged.delete(row.doc)
      const { id, type, doc, time, createdAt, subjects, stateVector, attempts } = claimed
      return { id, type, doc, time, createdAt, subjects: [...subjects], stateVector: { ...stateVector }, attempts }
    })
  }

  async ackOutbox(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const row = this.#rows.get(id)
      if (row && this.#waitingChanged.get(row.doc) === id) this.#waitingChanged.delete(row.doc)
      this.#rows.delete(id)
    }
  }

  async retryOutbox(id: string, at: number): Promise<void> {
    const row = this.#rows.get(id)
    if (row) this.#rows.set(id, { ...row, dueAt: at })
  }

  async outboxStats(): Promise<OutboxStats> {
    let oldestAt: number | undefined
    for (const row of this.#rows.values()) oldestAt = Math.min(oldestAt ?? row.createdAt, row.createdAt)
    return { depth: this.#rows.size, oldestAt }
  }
}
