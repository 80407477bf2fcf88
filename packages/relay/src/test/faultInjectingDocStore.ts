/**
 * Owns fault injection for the relay's storage: a DocStore that wraps any
 * other and, on a schedule the test sets, makes its calls fail or stall.
 * With nothing injected it is the inner store, call for call (the DocStore
 * conformance suite runs through it to check that).
 *
 * API (every rule applies to one operation: 'load' | 'append' | 'compact' | 'ping'):
 *
 *   const store = new FaultInjectingDocStore(new SqliteDocStore(path))   // or no argument: a MemoryDocStore
 *
 *   store.fail('append')                            // every append rejects until cleared
 *   store.fail('append', { times: 1 })              // the next append rejects, later ones pass
 *   store.fail('load', { times: 3, doc: 'notes' })  // only calls for document 'notes' count
 *   store.fail('append', { error: sqliteFullError() })   // reject with this error (or a function making one)
 *   store.fail('compact', { after: 2 })             // let 2 calls through first, then fail
 *
 *   const stall = store.stall('load')               // every load waits (not yet sent to the inner store)
 *   stall.waiting                                   // calls held by this rule right now
 *   stall.release()                                 // held calls go on to the inner store; the rule ends
 *   store.stall('ping', { forMs: 5_000 })           // each ping waits 5 s, then goes on
 *   store.stall('append', { times: 1 })             // only the next append is held
 *   store.stall('load', { at: 'answer' })           // the load reads now; its answer is held (a late reply)
 *   stall.answered                                  // ... held calls whose inner call has settled
 *
 *   rule.hits                                       // calls this rule has failed or held so far
 *   rule.clear()                                    // ends the rule (a stall's held calls go on)
 *   store.clear('append')  /  store.clear()         // ends every rule of one operation / of all
 *   store.calls.append                              // calls made so far, per operation (faulted ones too)
 *   store.waiting('append')                         // calls held by any stall right now
 *   store.inner                                     // the wrapped store, to read behind the faults
 *
 * Rules are tried in the order they were added; the first active one that
 * matches a call decides it. A failed call never reaches the inner store (an
 * append that failed stored nothing). A stalled call reaches it only when
 * released, so a stalled append is not durable until then. `close()` ends
 * every rule, then closes the inner store.
 */
import type { OutboxEvent } from '../webhookOutbox.js'
import type { DocStore, StoredRow } from '../docStore.js'
import { MemoryDocStore } from '../memoryDocStore.js'

export type FaultOperation = 'load' | 'append' | 'compact' | 'ping'

interface RuleScope {
  /** How many calls the rule applies to before it ends by itself. Default: every call, until cleared. */
  readonly times?: number
  /** Calls to let through before the rule applies. Default: 0. */
  readonly after?: number
  /** Only calls for this document count (ping has none: a rule with `doc` never matches it). */
  readonly doc?: string
}

export interface FailOptions extends RuleScope {
  /** What the call rejects with; a function is called once per failed call. Default: an Error naming the operation. */
  readonly error?: unknown
}

export interface StallOptions extends RuleScope {
  /** Each held call goes on by itself after this long. Default: held until released or cleared. */
  readonly forMs?: number
  /**
   * `call` (the default): the call waits before it reaches the inner store. `answer`: the call
   * reaches the inner store at once and its answer (result or error) is held, as a reply that is late.
   */
  readonly at?: 'call' | 'answer'
}

export interface FaultRule {
  /** Calls this rule failed or held so far. */
  readonly hits: number
  /** Ends the rule; calls it holds go on to the inner store. */
  clear(): void
}

export interface StallRule extends FaultRule {
  /** Calls held by this rule right now. */
  readonly waiting: number
  /** With `at: 'answer'`: held calls whose inner call has settled (the answer exists, and waits). */
  readonly answered: number
  /** Lets every held call go on and ends the rule (same as clear). */
  release(): void
}

/** An error shaped like the one better-sqlite3 throws when the disk (or max_page_count) is full. */
export const sqliteFullError = (): Error =>
  Object.assign(new Error('database or disk is full'), { name: 'SqliteError', code: 'SQLITE_FULL' })

/** An error shaped like the one pg throws when PostgreSQL is restarting (57P01: admin shutdown). */
export const postgresShutdownError = (): Error =>
  Object.assign(new Error('terminating connection due to administrator command'), {
    name: 'error',
    code: '57P01',
  })

abstract class Rule implements FaultRule {
  hits = 0
  #skipped = 0
  ended = false

  constructor(
    readonly operation: FaultOperation,
    readonly scope: RuleScope,
    private readonly onEnd: (rule: Rule) => void,
  ) {}

  /** True if this rule takes the call (and counts it). */
  takes(operation: FaultOperation, doc: string | undefined): boolean {
    if (this.ended || operation !== this.operation) return false
    if (this.scope.doc !== undefined && this.scope.doc !== doc) return false
    if (this.#skipped < (this.scope.after ?? 0)) {
      this.#skipped++
      return false
    }
    this.hits++
    if (this.scope.times !== undefined && this.hits >= this.scope.times) this.#finish()
    return true
  }

  clear(): void {
    this.#finish()
  }

  #finish(): void {
    if (this.ended) return
    this.ended = true
    this.onEnd(this)
  }

  abstract run<T>(call: () => Promise<T>): Promise<T>
}

class Fail extends Rule {
  run<T>(): Promise<T> {
    const { error } = this.scope as FailOptions
    const made = typeof error === 'function' ? (error as () => unknown)() : error
    return Promise.reject(made ?? new Error(`injected fault: ${this.operation} failed`))
  }
}

class Stall extends Rule implements StallRule {
  readonly #held = new Set<() => void>()
  #released = false
  answered = 0

  get waiting(): number {
    return this.#held.size
  }

  release(): void {
    this.#released = true
    super.clear()
    for (const go of [...this.#held]) go()
  }

  /** A `times` stall ends when it takes its last call, which stays held: only clear() or release() frees it. */
  override clear(): void {
    this.release()
  }

  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#released) return call()
    const { forMs, at } = this.scope as StallOptions
    if (at === 'answer') {
      const answer = call()
      // Held, not lost: a rejection is handled here and delivered on release.
      const settled = (): void => void this.answered++
      answer.then(settled, settled)
      return this.#hold(forMs).then(() => answer)
    }
    return this.#hold(forMs).then(call)
  }

  #hold(forMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const go = (): void => {
        clearTimeout(timer)
        this.#held.delete(go)
        resolve()
      }
      this.#held.add(go)
      if (forMs !== undefined) timer = setTimeout(go, forMs)
    })
  }
}

export class FaultInjectingDocStore implements DocStore {
  readonly inner: DocStore
  readonly calls: Record<FaultOperation, number> = { load: 0, append: 0, compact: 0, ping: 0 }
  readonly #rules: Rule[] = []
  /** Every stall ever added that may still hold calls (a `times` stall ends before its calls are released). */
  readonly #stalls = new Set<Stall>()
  /** The inner store's, when it has them (no faults are injected there). */
  readonly quarantine?: NonNullable<DocStore['quarantine']>
  readonly loadQuarantined?: NonNullable<DocStore['loadQuarantined']>
  readonly list?: NonNullable<DocStore['list']>
  readonly remove?: NonNullable<DocStore['remove']>
  readonly saveVersion?: NonNullable<DocStore['saveVersion']>
  readonly listVersions?: NonNullable<DocStore['listVersions']>
  readonly loadVersion?: NonNullable<DocStore['loadVersion']>
  readonly deleteVersions?: NonNullable<DocStore['deleteVersions']>
  readonly claimOutbox?: NonNullable<DocStore['claimOutbox']>
  readonly ackOutbox?: NonNullable<DocStore['ackOutbox']>
  readonly retryOutbox?: NonNullable<DocStore['retryOutbox']>
  readonly outboxStats?: NonNullable<DocStore['outboxStats']>
  readonly recordEvents?: NonNullable<DocStore['recordEvents']>
  readonly contest?: NonNullable<DocStore['contest']>
  readonly loadContested?: NonNullable<DocStore['loadContested']>
  /** The inner store's, faulted as `load` is. */
  readonly loadRows?: NonNullable<DocStore['loadRows']>

  constructor(inner: DocStore = new MemoryDocStore()) {
    this.inner = inner
    if (inner.quarantine) this.quarantine = inner.quarantine.bind(inner)
    if (inner.loadQuarantined) this.loadQuarantined = inner.loadQuarantined.bind(inner)
    if (inner.list) this.list = inner.list.bind(inner)
    if (inner.remove) this.remove = inner.remove.bind(inner)
    if (inner.saveVersion) this.saveVersion = inner.saveVersion.bind(inner)
    if (inner.listVersions) this.listVersions = inner.listVersions.bind(inner)
    if (inner.loadVersion) this.loadVersion = inner.loadVersion.bind(inner)
    if (inner.deleteVersions) this.deleteVersions = inner.deleteVersions.bind(inner)
    if (inner.claimOutbox) this.claimOutbox = inner.claimOutbox.bind(inner)
    if (inner.ackOutbox) this.ackOutbox = inner.ackOutbox.bind(inner)
    if (inner.retryOutbox) this.retryOutbox = inner.retryOutbox.bind(inner)
    if (inner.outboxStats) this.outboxStats = inner.outboxStats.bind(inner)
    if (inner.recordEvents) this.recordEvents = inner.recordEvents.bind(inner)
    if (inner.contest) this.contest = inner.contest.bind(inner)
    if (inner.loadContested) this.loadContested = inner.loadContested.bind(inner)
    const { loadRows } = inner
    if (loadRows) {
      this.loadRows = (doc, after, through) => this.#call('load', doc, () => loadRows.call(inner, doc, after, through))
    }
  }

  /** Makes calls of `operation` reject, as `options` says. */
  fail(operation: FaultOperation, options: FailOptions = {}): FaultRule {
    const rule = new Fail(operation, options, (ended) => this.#forget(ended))
    this.#rules.push(rule)
    return rule
  }

  /** Makes calls of `operation` wait before they reach the inner store, as `options` says. */
  stall(operation: FaultOperation, options: StallOptions = {}): StallRule {
    const rule = new Stall(operation, options, (ended) => this.#forget(ended))
    this.#rules.push(rule)
    this.#stalls.add(rule)
    return rule
  }

  /** Ends every rule of `operation` (of every operation without one); held calls go on. */
  clear(operation?: FaultOperation): void {
    for (const rule of [...this.#rules]) if (operation === undefined || rule.operation === operation) rule.clear()
    for (const stall of [...this.#stalls]) {
      if (operation === undefined || stall.operation === operation) {
        stall.release()
        this.#stalls.delete(stall)
      }
    }
  }

  /** Calls of `operation` held by stalls right now. */
  waiting(operation: FaultOperation): number {
    let held = 0
    for (const stall of this.#stalls) if (stall.operation === operation) held += stall.waiting
    return held
  }

  load(doc: string): Promise<Uint8Array[]> {
    return this.#call('load', doc, () => this.inner.load(doc))
  }

  append(doc: string, update: Uint8Array, events?: readonly OutboxEvent[]): Promise<StoredRow | void> {
    return this.#call('append', doc, () => this.inner.append(doc, update, events))
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#call('compact', doc, () => this.inner.compact(doc, merge))
  }

  ping(): Promise<void> {
    return this.#call('ping', undefined, () => this.inner.ping())
  }

  async close(): Promise<void> {
    this.clear()
    // Released calls reach the inner store a few microtasks later: before it closes.
    await new Promise((resolve) => setImmediate(resolve))
    await this.inner.close()
  }

  #call<T>(operation: FaultOperation, doc: string | undefined, call: () => Promise<T>): Promise<T> {
    this.calls[operation]++
    const rule = this.#rules.find((candidate) => candidate.takes(operation, doc))
    return rule ? rule.run(call) : call()
  }

  #forget(rule: Rule): void {
    const index = this.#rules.indexOf(rule)
    if (index >= 0) this.#rules.splice(index, 1)
  }
}
