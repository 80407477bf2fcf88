/**
 * Owns the webhook outbox of a SqliteDocStore: its table, and the statements
 * that record, claim, ack and retry events. They run on the store's worker
 * thread, recording inside the transaction of the append or removal that
 * causes the events, so a crash right after the commit loses none.
 */
import type Database from 'better-sqlite3'
import {
  joinChanged,
  maxClocks,
  type ClaimedOutboxEvent,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxStats,
  type StateVectorClocks,
  type WebhookEventType,
} from './webhookOutbox.js'

/**
 * Added within schema version 2 (files made before get it on their next open). `due_at` is when the
 * event may be claimed: its debounce at first, then its lease or its retry time. One waiting (never
 * claimed) document.changed row per document, which later changes join. `webhook_clocks` holds each
 * document's clocks as its changed events reached them (each event carries only the clocks of the
 * clients it wrote, so that a write costs what it touched, not the document's history of clients):
 * a changed event's first claim copies them into it.
 */
export const outboxSchema = `
  CREATE TABLE IF NOT EXISTS webhook_outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    doc TEXT NOT NULL,
    time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    subjects TEXT NOT NULL,
    state_vector TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    deliver_by INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS webhook_outbox_by_due ON webhook_outbox (due_at, seq);
  CREATE UNIQUE INDEX IF NOT EXISTS webhook_outbox_waiting_changed ON webhook_outbox (doc)
    WHERE type = 'document.changed' AND attempts = 0;
  CREATE TABLE IF NOT EXISTS webhook_clocks (doc TEXT PRIMARY KEY, clocks TEXT NOT NULL) WITHOUT ROWID;
`

interface Row {
  readonly id: string
  readonly type: WebhookEventType
  readonly doc: string
  readonly time: number
  readonly created_at: number
  readonly subjects: string
  readonly state_vector: string
  readonly due_at: number
  readonly deliver_by: number
  readonly attempts: number
}

export interface SqliteOutbox {
  /** Call inside the transaction that stores the change. */
  record(events: readonly OutboxEvent[]): void
  /** Call inside the transaction that removes `doc`: its waiting changed event keeps its clocks. */
  removed(doc: string): void
  claim(claim: OutboxClaim): ClaimedOutboxEvent[]
  ack(ids: readonly string[]): void
  retry(id: string, at: number): void
  stats(): OutboxStats
}

export const prepareOutbox = (db: Database.Database): SqliteOutbox => {
  const waitingChanged = db.prepare<[string], Row>(
    "SELECT * FROM webhook_outbox WHERE doc = ? AND type = 'document.changed' AND attempts = 0",
  )
  const insert = db.prepare(
    `INSERT INTO webhook_outbox (id, type, doc, time, created_at, subjects, state_vector, due_at, deliver_by)
     VALUES (@id, @type, @doc, @time, @createdAt, @subjects, @stateVector, @deliverAfter, @deliverBy)`,
  )
  const join = db.prepare(
    'UPDATE webhook_outbox SET time = @time, subjects = @subjects, state_vector = @stateVector, due_at = @deliverAfter WHERE id = @id',
  )
  const due = db.prepare<[number, number], Row>(
    'SELECT * FROM webhook_outbox WHERE due_at <= ? ORDER BY due_at, seq LIMIT ?',
  )
  const lease = db.prepare<[number, string]>(
    'UPDATE webhook_outbox SET due_at = ?, attempts = attempts + 1 WHERE id = ?',
  )
  const remove = db.prepare<[string]>('DELETE FROM webhook_outbox WHERE id = ?')
  const reschedule = db.prepare<[number, string]>('UPDATE webhook_outbox SET due_at = ? WHERE id = ?')
  const clocksOf = db.prepare<[string], { clocks: string }>('SELECT clocks FROM webhook_clocks WHERE doc = ?')
  const setClocks = db.prepare<[string, string]>('INSERT OR REPLACE INTO webhook_clocks (doc, clocks) VALUES (?, ?)')
  const forgetClocks = db.prepare<[string]>('DELETE FROM webhook_clocks WHERE doc = ?')
  const freeze = db.prepare<[string, string]>('UPDATE webhook_outbox SET state_vector = ? WHERE id = ?')
  const count = db.prepare<[], { depth: number; oldest: number | null }>(
    'SELECT COUNT(*) AS depth, MIN(created_at) AS oldest FROM webhook_outbox',
  )

  const asEvent = (row: Row): OutboxEvent => ({
    id: row.id,
    type: row.type,
    doc: row.doc,
    time: row.time,
    subjects: JSON.parse(row.subjects) as string[],
    stateVector: JSON.parse(row.state_vector) as Record<string, number>,
    deliverAfter: row.due_at,
    deliverBy: row.deliver_by,
  })
  /** An event of a coalesced batch (see coalesceEvents) says when its first change was. */
  const asParameters = (event: OutboxEvent & { readonly createdAt?: number }) => ({
    ...event,
    createdAt: event.createdAt ?? event.time,
    subjects: JSON.stringify(event.subjects),
    stateVector: JSON.stringify(event.stateVector),
  })

  const reach = (doc: string, stateVector: StateVectorClocks): void => {
    const stored = clocksOf.get(doc)
    const clocks = stored ? maxClocks(JSON.parse(stored.clocks) as StateVectorClocks, stateVector) : stateVector
    setClocks.run(doc, JSON.stringify(clocks))
  }

  /** A changed event's first claim (or its document's removal) freezes the document's clocks into it. */
  const frozen = (row: Row): Row => {
    if (row.type !== 'document.changed' || row.attempts !== 0) return row
    const clocks = clocksOf.get(row.doc)?.clocks
    if (clocks === undefined) return row
    freeze.run(clocks, row.id)
    return { ...row, state_vector: clocks }
  }

  const claim = db.transaction(({ now, leaseMs, limit }: OutboxClaim): ClaimedOutboxEvent[] =>
    due.all(now, limit).map((due) => {
      const row = frozen(due)
      lease.run(now + leaseMs, row.id)
      const { id, type, doc, time, subjects, stateVector } = asEvent(row)
      return { id, type, doc, time, createdAt: row.created_at, subjects, stateVector, attempts: row.attempts + 1 }
    }),
  )

  return {
    record: (events) => {
      for (const event of events) {
        if (event.type === 'document.changed') reach(event.doc, event.stateVector)
        const waiting = event.type === 'document.changed' ? waitingChanged.get(event.doc) : undefined
        if (waiting) join.run(asParameters(joinChanged(asEvent(waiting), event)))
        else insert.run(asParameters(event))
      }
    },
    removed: (doc) => {
      const waiting = waitingChanged.get(doc)
      if (waiting) frozen(waiting)
      forgetClocks.run(doc)
    },
    claim,
    ack: db.transaction((ids: readonly string[]) => {
      for (const id of ids) remove.run(id)
    }),
    retry: (id, at) => void reschedule.run(at, id),
    stats: () => {
      const { depth, oldest } = count.get()!
      return { depth, oldestAt: oldest ?? undefined }
    },
  }
}
