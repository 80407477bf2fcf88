/**
 * Owns the storage faults of `--storage`, at the two storage interfaces and
 * nowhere else: a `LocalStore` wrapper for the replicas (appends that fail
 * with a QuotaExceededError or an aborted transaction, compactions and loads
 * that fail, slow appends) and a `DocStore` wrapper for the relay (appends
 * and loads that fail, appends that stall, SQLite's disk full). Each fault
 * is armed by a message from the harness and takes the next calls. The
 * sabotage here breaks the contract on purpose: a relay store whose append
 * resolves before the inner one commits, or that keeps memory for every load
 * and append (a leak), and a device store that drops appends while it says
 * they are stored.
 *
 * Not the public kits (`FaultInjectingLocalStore` of `@concord/client/testing`,
 * `FaultInjectingDocStore` of `@concord/relay/testing`): those entries load
 * vitest (their conformance suites import it), a root devDependency, into
 * every replica and relay process; and the relay-side kit lets later appends
 * pass a stalled one (they fail, or reach the inner store, at once), so
 * appends settle out of order, which the DocStore contract forbids and which
 * made a relay acknowledge updates queued behind a stalled append.
 */
import type { LocalStore } from '@concord/client'
import type { DocStore } from '@concord/relay'

export type LocalStoreFault =
  | { readonly kind: 'appendFails'; readonly times: number; readonly name: 'QuotaExceededError' | 'AbortError' }
  | { readonly kind: 'compactFails'; readonly times: number }
  | { readonly kind: 'loadFails'; readonly times: number }
  | { readonly kind: 'slowAppends'; readonly times: number; readonly ms: number }

export type DocStoreFault =
  | { readonly kind: 'appendFails'; readonly times: number }
  | { readonly kind: 'diskFull'; readonly times: number }
  | { readonly kind: 'loadFails'; readonly times: number }
  | { readonly kind: 'appendStalls'; readonly times: number; readonly ms: number }
  | { readonly kind: 'loadStalls'; readonly times: number; readonly ms: number }
  /** Sabotage (`relay-leaks`): every later load and append keeps `bytes` of memory for good, up to `upTo` in all. */
  | { readonly kind: 'leaks'; readonly bytes: number; readonly upTo: number }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Counts of armed faults by kind: each call of the kind takes one. */
class Armed<Kind extends string> {
  readonly #left = new Map<Kind, number>()
  injected = 0

  arm(kind: Kind, times: number): void {
    this.#left.set(kind, (this.#left.get(kind) ?? 0) + times)
  }

  take(kind: Kind): boolean {
    const left = this.#left.get(kind) ?? 0
    if (left <= 0) return false
    this.#left.set(kind, left - 1)
    this.injected++
    return true
  }
}

/** The replicas' device store with faults injected; `dropAppends` is the sabotage. */
export class FaultyLocalStore implements LocalStore {
  #inner: LocalStore
  readonly #armed = new Armed<LocalStoreFault['kind']>()
  #slowMs = 0
  readonly #dropAppends: boolean
  #appends = 0

  constructor(inner: LocalStore, { dropAppends = false } = {}) {
    this.#inner = inner
    this.#dropAppends = dropAppends
  }

  #name: 'QuotaExceededError' | 'AbortError' = 'QuotaExceededError'

  /** The store a recreated client opens: armed faults carry over to it. */
  replaceInner(inner: LocalStore): void {
    this.#inner = inner
  }

  inject(fault: LocalStoreFault): void {
    this.#armed.arm(fault.kind, fault.times)
    if (fault.kind === 'appendFails') this.#name = fault.name
    if (fault.kind === 'slowAppends') this.#slowMs = fault.ms
  }

  load: LocalStore['load'] = async (doc) => {
    if (this.#armed.take('loadFails')) throw new DOMException('the transaction was aborted (injected)', 'AbortError')
    return this.#inner.load(doc)
  }

  append: LocalStore['append'] = async (doc, update, pending) => {
    if (this.#armed.take('slowAppends')) await sleep(this.#slowMs)
    if (this.#armed.take('appendFails')) throw new DOMException(`${this.#name} (injected)`, this.#name)
    // Sabotage: every 50th local append is never written, though the store says it was.
    if (this.#dropAppends && pending && ++this.#appends % 50 === 0) return -this.#appends
    return this.#inner.append(doc, update, pending)
  }

  acknowledge: LocalStore['acknowledge'] = (doc, ids) => this.#inner.acknowledge(doc, ids)

  compact: LocalStore['compact'] = async (doc, merge) => {
    if (this.#armed.take('compactFails')) throw new DOMException('the transaction was aborted (injected)', 'AbortError')
    return this.#inner.compact(doc, merge)
  }

  mergePending: LocalStore['mergePending'] = (doc, ids, merge) => this.#inner.mergePending(doc, ids, merge)
  remove: LocalStore['remove'] = (doc) => this.#inner.remove(doc)
  close: LocalStore['close'] = () => this.#inner.close()
}

/** SQLite's error when the database or disk is full, as better-sqlite3 throws it. */
export const sqliteFullError = (): Error =>
  Object.assign(new Error('database or disk is full (injected)'), { code: 'SQLITE_FULL' })

/** The relay's store with faults injected; `acksEarly` is the sabotage. */
export class FaultyDocStore implements DocStore {
  readonly #inner: DocStore
  readonly #armed = new Armed<DocStoreFault['kind']>()
  #stallMs = 0
  #loadStallMs = 0
  readonly #acksEarly: boolean
  /** `leaks`: how much each append keeps, and what it kept. */
  #leak = { bytes: 0, upTo: 0, kept: 0 }
  readonly #leaked: Buffer[] = []

  constructor(inner: DocStore, { acksEarly = false } = {}) {
    this.#inner = inner
    this.#acksEarly = acksEarly
  }

  get injected(): number {
    return this.#armed.injected
  }

  inject(fault: DocStoreFault): void {
    if (fault.kind === 'leaks') {
      this.#leak = { bytes: fault.bytes, upTo: fault.upTo, kept: 0 }
      return
    }
    this.#armed.arm(fault.kind, fault.times)
    if (fault.kind === 'appendStalls') this.#stallMs = fault.ms
    if (fault.kind === 'loadStalls') this.#loadStallMs = fault.ms
  }

  /** The leak sabotage: memory kept for good. Filled, so the pages are resident and the RSS grows by it. */
  #keep(): void {
    if (this.#leak.kept + this.#leak.bytes > this.#leak.upTo) return
    this.#leaked.push(Buffer.alloc(this.#leak.bytes, 1))
    this.#leak.kept += this.#leak.bytes
  }

  async load(doc: string): Promise<Uint8Array[]> {
    this.#keep()
    if (this.#armed.take('loadStalls')) await sleep(this.#loadStallMs)
    if (this.#armed.take('loadFails')) throw new Error('the store could not read (injected)')
    return this.#inner.load(doc)
  }

  /** The last append: appends resolve in the order they were made (the DocStore contract), stalls too. */
  #appends: Promise<unknown> = Promise.resolve()

  append(doc: string, update: Uint8Array): Promise<void> {
    this.#keep()
    if (this.#acksEarly) {
      // Sabotage: resolve now, commit a little later; a crash in between loses an acknowledged update.
      setTimeout(() => void this.#inner.append(doc, update).catch(() => {}), 300)
      return Promise.resolve()
    }
    const stall = this.#armed.take('appendStalls')
    const fail = this.#armed.take('appendFails')
    const full = !fail && this.#armed.take('diskFull')
    const previous = this.#appends
    const appended = (async () => {
      await previous.catch(() => {})
      if (stall) await sleep(this.#stallMs)
      if (fail) throw new Error('the store could not write (injected)')
      if (full) throw sqliteFullError()
      await this.#inner.append(doc, update)
    })()
    this.#appends = appended
    return appended
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.#inner.compact(doc, merge)
  }

  ping(): Promise<void> {
    return this.#inner.ping()
  }

  close(): Promise<void> {
    return this.#inner.close()
  }
}
