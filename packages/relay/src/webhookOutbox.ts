/**
 * Owns what a store's webhook outbox holds and how its events coalesce: the
 * events a change causes (written by the store in the same transaction as
 * the change), the shape they are claimed in, and the rule by which a
 * `document.changed` event joins the one still waiting for its document
 * (the debounce). Stores implement the rule in their own terms (SQL for
 * PostgreSQL); `joinChanged` is it in JavaScript.
 */
import { randomUUID } from 'node:crypto'

export type WebhookEventType = 'document.created' | 'document.changed' | 'document.deleted'

/** One client's next clock, by client id (as a decimal string, so that it is JSON). */
export type StateVectorClocks = Readonly<Record<string, number>>

/** An event as the relay records it, with the change that causes it. */
export interface OutboxEvent {
  /** Unique. A `document.changed` event that joins a waiting one takes that one's id. */
  readonly id: string
  readonly type: WebhookEventType
  readonly doc: string
  /** When the change happened, in ms since the epoch. */
  readonly time: number
  /** Who wrote: token subjects, or `server` / `api` for the relay's own writers. */
  readonly subjects: readonly string[]
  /** `document.changed`: the document's state vector after the change. Empty for the others. */
  readonly stateVector: StateVectorClocks
  /** The event is not claimed before this (ms since the epoch): the debounce. */
  readonly deliverAfter: number
  /** ... and, however many events join it, it is claimable from this time at the latest. */
  readonly deliverBy: number
}

/** An event as a delivery claims it. */
export interface ClaimedOutboxEvent {
  readonly id: string
  readonly type: WebhookEventType
  readonly doc: string
  /** When its latest change happened. */
  readonly time: number
  /** When its first change happened: the event's age counts from here. */
  readonly createdAt: number
  readonly subjects: readonly string[]
  readonly stateVector: StateVectorClocks
  /** Claims so far, this one included. */
  readonly attempts: number
}

export interface OutboxClaim {
  /** The claimer's clock, ms since the epoch. */
  readonly now: number
  /** A claimed event is claimable again (by anyone) this long after `now`, unless acked or retried first. */
  readonly leaseMs: number
  readonly limit: number
}

export interface OutboxStats {
  /** Events not yet acked. */
  readonly depth: number
  /** `createdAt` of the oldest of them; undefined when there is none. */
  readonly oldestAt: number | undefined
}

/**
 * The part of a DocStore that keeps a webhook outbox: `append(doc, update, events)` and
 * `remove(doc, events)` record `events` in the transaction that stores the change (none when the
 * change is refused), and these methods hand them out. The outbox keeps at most one waiting
 * (never claimed) `document.changed` event per document: a new one joins it (`joinChanged`).
 */
export interface DocStoreOutbox {
  /**
   * Claims, oldest first, up to `limit` events that are due (their `deliverAfter` has passed and no
   * lease on them is running) and leases them for `leaseMs`. Two claimers never get one event while its
   * lease runs. A claimed event is frozen: later changes make a new event.
   */
  claimOutbox(claim: OutboxClaim): Promise<ClaimedOutboxEvent[]>
  /** Removes delivered (or given up) events for good. Unknown ids are ignored. */
  ackOutbox(ids: readonly string[]): Promise<void>
  /** Makes a claimed event claimable again at `at` (ms since the epoch). */
  retryOutbox(id: string, at: number): Promise<void>
  outboxStats(): Promise<OutboxStats>
}

/** A store that keeps an outbox, or undefined. */
export const outboxOf = <T extends object>(store: T): (T & DocStoreOutbox) | undefined => {
  const candidate = store as T & Partial<DocStoreOutbox>
  return typeof candidate.claimOutbox === 'function' &&
    typeof candidate.ackOutbox === 'function' &&
    typeof candidate.retryOutbox === 'function' &&
    typeof candidate.outboxStats === 'function'
    ? (candidate as T & DocStoreOutbox)
    : undefined
}

/** The next clock of each client, the larger of the two where both name it. */
export const maxClocks = (a: StateVectorClocks, b: StateVectorClocks): StateVectorClocks => {
  const joined: Record<string, number> = { ...a }
  for (const [client, clock] of Object.entries(b)) joined[client] = Math.max(joined[client] ?? 0, clock)
  return joined
}

/** What a waiting `document.changed` event becomes when `next` joins it. */
export const joinChanged = <T extends OutboxEvent>(waiting: T, next: OutboxEvent): T => ({
  ...waiting,
  time: Math.max(waiting.time, next.time),
  subjects: [...new Set([...waiting.subjects, ...next.subjects])],
  stateVector: maxClocks(waiting.stateVector, next.stateVector),
  deliverAfter: Math.min(waiting.deliverBy, Math.max(waiting.deliverAfter, next.deliverAfter)),
})

interface Joining {
  readonly at: number
  readonly first: OutboxEvent
  readonly subjects: Set<string>
  readonly clocks: Map<string, number>
  time: number
  createdAt: number
  deliverAfter: number
}

/**
 * `events` with the `document.changed` events of each document joined into the first, in order, each
 * with the time of its first change. As `joinChanged` does, but gathered in maps and built once per
 * document: a group commit of thousands of updates of one document joins them in one pass.
 */
export const coalesceEvents = (events: readonly OutboxEvent[]): Array<OutboxEvent & { readonly createdAt: number }> => {
  const out: Array<OutboxEvent & { readonly createdAt: number }> = []
  const joining = new Map<string, Joining>()
  for (const event of events) {
    if (event.type !== 'document.changed') {
      out.push({ ...event, createdAt: event.time })
      continue
    }
    const waiting = joining.get(event.doc)
    if (!waiting) {
      joining.set(event.doc, {
        at: out.length,
        first: event,
        subjects: new Set(event.subjects),
        clocks: new Map(Object.entries(event.stateVector)),
        time: event.time,
        createdAt: event.time,
        deliverAfter: event.deliverAfter,
      })
      out.push({ ...event, createdAt: event.time })
      continue
    }
    for (const subject of event.subjects) waiting.subjects.add(subject)
    for (const client in event.stateVector) {
      const clock = event.stateVector[client]!
      if ((waiting.clocks.get(client) ?? 0) < clock) waiting.clocks.set(client, clock)
    }
    waiting.time = Math.max(waiting.time, event.time)
    waiting.createdAt = Math.min(waiting.createdAt, event.time)
    waiting.deliverAfter = Math.min(waiting.first.deliverBy, Math.max(waiting.deliverAfter, event.deliverAfter))
  }
  for (const { at, first, subjects, clocks, time, createdAt, deliverAfter } of joining.values()) {
    out[at] = {
      ...first,
      time,
      createdAt,
      deliverAfter,
      subjects: [...subjects],
      stateVector: Object.fromEntries(clocks),
    }
  }
  return out
}

export interface EventTiming {
  /** A changed event waits this long after the latest change of its document. */
  readonly debounceMs: number
  /** ... and at most this long after the first. */
  readonly maxWaitMs: number
}

/** A new event; `document.changed` ones wait for the debounce, the others are due at once. */
export const outboxEvent = (
  type: WebhookEventType,
  doc: string,
  subjects: readonly string[],
  stateVector: StateVectorClocks,
  timing: EventTiming,
  time = Date.now(),
): OutboxEvent => {
  const changed = type === 'document.changed'
  return {
    id: randomUUID(),
    type,
    doc,
    time,
    subjects,
    stateVector,
    deliverAfter: changed ? time + timing.debounceMs : time,
    deliverBy: changed ? time + timing.maxWaitMs : time,
  }
}
