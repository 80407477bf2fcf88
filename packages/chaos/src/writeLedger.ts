/**
 * Owns what the harness knows of every honest write of a run: which replica
 * process (and which of its incarnations) it was sent to, when its store row
 * was committed and acknowledged, when a `whenSynced()` covering it
 * resolved, and every error the replica's client reported. From that it
 * answers the checks: what must be in the relay's store at a stop, and which
 * writes missing at the end vanished without their replica being told.
 */
import type { FromReplica } from './replicaMessages.js'

interface Sent {
  readonly replica: number
  readonly incarnation: number
  readonly doc: string
  /** Where in the order of what the harness sent and heard (times can tie). */
  readonly at: number
}

type ReplicaMessage = Exclude<FromReplica, { type: 'report' | 'ready' | 'stopped' }>

export class WriteLedger {
  readonly attempted = new Set<string>()
  readonly committed = new Set<string>()
  readonly acknowledged = new Set<string>()
  /** Writes a resolved `whenSynced()` covered: the relay must have them. */
  readonly syncClaimed = new Set<string>()
  /** Writes of stock y-websocket replicas (no store, no acks). */
  readonly stock = new Set<string>()
  /** Writes of a read-only replica (`--readers`): never stored by the relay; the replica must be told. */
  readonly readOnly = new Set<string>()
  readonly committedBy: Array<Set<string>>
  /** The relay closed an honest replica's socket with a code that is not routine. */
  readonly relayCloses: string[] = []
  readonly #startedAt: number
  readonly #sent = new Map<string, Sent>()
  readonly #incarnation: number[]
  readonly #killed = new Set<string>()
  readonly #errors: Array<{ replica: number; incarnation: number; at: number; code: string; doc: string | undefined }> =
    []
  /** Which elements each store row holds: `replica:doc:row`. */
  readonly #rows = new Map<string, string[]>()
  readonly #history = new Map<string, string>()
  /** Counts what was sent and heard, to order writes and errors. */
  #events = 0

  constructor(replicas: number, startedAt: number) {
    this.committedBy = Array.from({ length: replicas }, () => new Set())
    this.#incarnation = Array.from({ length: replicas }, () => 0)
    this.#startedAt = startedAt
  }

  #time(): string {
    return `+${Date.now() - this.#startedAt}ms`
  }

  #note(element: string, event: string): void {
    this.#history.set(element, `${this.#history.get(element) ?? ''}${this.#history.has(element) ? ', ' : ''}${event}`)
  }

  history(element: string): string {
    return this.#history.get(element) ?? 'never heard of'
  }

  /** A new process of `replica` starts. */
  restarted(replica: number): void {
    this.#incarnation[replica]!++
  }

  /** The current process of `replica` was SIGKILLed. */
  killed(replica: number): void {
    this.#killed.add(`${replica}:${this.#incarnation[replica]}`)
  }

  sent(replica: number, doc: string, element: string, stock: boolean, readOnly = false): void {
    const incarnation = this.#incarnation[replica]!
    this.attempted.add(element)
    if (stock) this.stock.add(element)
    if (readOnly) this.readOnly.add(element)
    this.#sent.set(element, { replica, incarnation, doc, at: ++this.#events })
    this.#note(element, `sent to r${replica}#${incarnation} (${doc}) ${this.#time()}`)
  }

  /** What replica `replica`'s current process said. */
  heard(replica: number, message: ReplicaMessage): void {
    switch (message.type) {
      case 'committed':
        for (const element of message.elements) {
          this.committed.add(element)
          this.committedBy[replica]!.add(element)
          this.#note(element, `r${replica} row ${message.id} committed ${this.#time()}`)
        }
        this.#rows.set(`${replica}:${message.doc}:${message.id}`, [...message.elements])
        return
      case 'acknowledged':
        for (const id of message.ids) {
          for (const element of this.#rows.get(`${replica}:${message.doc}:${id}`) ?? []) {
            this.acknowledged.add(element)
            this.#note(element, `acknowledged ${this.#time()}`)
          }
        }
        return
      case 'merged': {
        const elements = message.ids.flatMap((id) => this.#rows.get(`${replica}:${message.doc}:${id}`) ?? [])
        for (const id of message.ids) this.#rows.delete(`${replica}:${message.doc}:${id}`)
        this.#rows.set(`${replica}:${message.doc}:${message.into}`, elements)
        return
      }
      case 'synced':
        for (const element of message.elements) {
          if (!this.syncClaimed.has(element)) this.#note(element, `whenSynced resolved ${this.#time()}`)
          this.syncClaimed.add(element)
        }
        return
      case 'error':
        this.#errors.push({
          replica,
          incarnation: this.#incarnation[replica]!,
          at: ++this.#events,
          code: message.code,
          doc: message.doc,
        })
        return
      case 'closedByRelay':
        // 1000: a normal close; 1001: the relay went away (SIGTERM); 4408 and 4508: a stalled link;
        // 4503: the relay's store failed (a fault of the run), which is how y-websocket mode, with no
        // error frame for one document, refuses it; the client reconnects. None is a protocol error.
        if (![1000, 1001, 4408, 4503, 4508].includes(message.code)) {
          this.relayCloses.push(
            `r${replica} closed by the relay with ${message.code} (${message.reason}) ${this.#time()}`,
          )
        }
        return
    }
  }

  /** Every error code each replica's client reported, counted. */
  errorCounts(): Record<string, number> {
    const counts: Record<string, number> = {}
    for (const { code } of this.#errors) counts[code] = (counts[code] ?? 0) + 1
    return counts
  }

  /**
   * The attempted writes missing from `present` whose replica was never told: not a write sent to
   * a process that was SIGKILLed before committing it, and with no error reported (for its
   * document, or for none in particular) by that process after it was sent, or by a later process
   * of the replica if the write was committed (the store carries it there, as pending, and that
   * process sends it again). A refusal stands for the later writes to its document in the same
   * process: the client reports one per opening of a document, not one per refused frame.
   */
  vanished(present: ReadonlySet<string>): string[] {
    const vanished: string[] = []
    for (const [element, sent] of this.#sent) {
      if (present.has(element)) continue
      const committed = this.committed.has(element)
      if (this.#killed.has(`${sent.replica}:${sent.incarnation}`) && !committed) continue
      const told = this.#errors.some(
        (error) =>
          error.replica === sent.replica &&
          // A squat's victim forks and keeps every edit: being told of the fork excuses no loss.
          error.code !== 'clocksTaken' &&
          (error.doc === undefined || error.doc === sent.doc) &&
          (error.incarnation === sent.incarnation
            ? error.at >= sent.at || (error.code === 'refused' && error.doc === sent.doc)
            : error.incarnation > sent.incarnation && committed),
      )
      if (!told) vanished.push(element)
    }
    return vanished
  }
}
