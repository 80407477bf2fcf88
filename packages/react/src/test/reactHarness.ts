/**
 * Owns what the hook tests share: a real relay on an ephemeral loopback port
 * (with the memory DocStore: under happy-dom, Vitest gives modules http:
 * URLs, from which the SQLite store cannot start its worker thread), clients of it that count the sockets they open
 * and the errors they report, a device store whose appends a test can hold
 * back or fail (a wrapper of the public LocalStore interface), and teardown.
 */
import { createClient, MemoryLocalStore, type ConcordClient, type ConcordError, type LocalStore } from '@concord/client'
import { MemoryDocStore } from '@concord/relay'
import { configure } from '@testing-library/react'
import { WebSocket as NodeWebSocket } from 'ws'
import { startRelay, waitFor, type TestRelay } from '@concord/relay/testing'

export { waitFor }

// Testing Library waits 1 s by default for what a render shows; these renders wait on a real relay and
// its sockets, which take longer than that on a loaded CI machine (one run failed that way). A wait
// still fails, only later.
configure({ asyncUtilTimeout: 10_000 })

const relays: TestRelay[] = []
const clients: ConcordClient[] = []

export const startTestRelay = async (): Promise<TestRelay> => {
  const relay = await startRelay({ store: new MemoryDocStore() })
  relays.push(relay)
  return relay
}

export interface TestClient {
  readonly client: ConcordClient
  /** How many WebSockets the client opened. */
  readonly sockets: () => number
  /** Every error the client reported. */
  readonly errors: ConcordError[]
}

export const makeClient = (url: string, store: LocalStore = new MemoryLocalStore()): TestClient => {
  let sockets = 0
  class CountedWebSocket extends NodeWebSocket {
    constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
      super(...args)
      sockets++
    }
  }
  const client = createClient({
    url,
    store,
    WebSocket: CountedWebSocket as never,
    shareAcrossTabs: false,
    connection: { backoff: { initialDelayMs: 20, maxDelayMs: 200 } },
  })
  const errors: ConcordError[] = []
  client.on('error', (error) => errors.push(error))
  clients.push(client)
  return { client, sockets: () => sockets, errors }
}

/** A LocalStore whose appends wait while `hold()` is in force, until `release()`, and fail while `failAppends`. */
export class ControlledLocalStore implements LocalStore {
  /** Appends reject (as a full disk does) while this is true. */
  failAppends = false
  readonly #inner: LocalStore
  #held: Promise<void> | undefined
  #release: (() => void) | undefined
  #appending = 0
  #appended = 0

  constructor(inner: LocalStore = new MemoryLocalStore()) {
    this.#inner = inner
  }

  /** Appends started from now on wait for `release()`. */
  hold(): void {
    this.#held ??= new Promise((resolve) => (this.#release = resolve))
  }

  release(): void {
    this.#release?.()
    this.#held = undefined
  }

  /** Appends begun and not finished. */
  get appending(): number {
    return this.#appending
  }

  /** Resolves once no append is in flight across a macrotask (appends queued behind one another have all run). */
  async whenIdle(): Promise<void> {
    for (;;) {
      await waitFor(() => this.#appending === 0, 'the device store to finish its appends')
      await new Promise((resolve) => setTimeout(resolve, 0))
      if (this.#appending === 0) return
    }
  }

  /** Appends finished. */
  get appended(): number {
    return this.#appended
  }

  load: LocalStore['load'] = (doc) => this.#inner.load(doc)
  acknowledge: LocalStore['acknowledge'] = (doc, ids) => this.#inner.acknowledge(doc, ids)
  compact: LocalStore['compact'] = (doc, merge) => this.#inner.compact(doc, merge)
  mergePending: LocalStore['mergePending'] = (doc, ids, merge) => this.#inner.mergePending(doc, ids, merge)
  remove: LocalStore['remove'] = (doc) => this.#inner.remove(doc)
  close: LocalStore['close'] = () => this.#inner.close()

  append: LocalStore['append'] = async (doc, update, pending) => {
    this.#appending++
    try {
      await this.#held
      if (this.failAppends) throw new DOMException('the device is full', 'QuotaExceededError')
      return await this.#inner.append(doc, update, pending)
    } finally {
      this.#appending--
      this.#appended++
    }
  }
}

/** Resolves after the macrotask in which the registry's deferred closes and the provider's destroy run. */
export const afterDeferredCloses = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5))

export const tearDown = async (): Promise<void> => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  await Promise.all(relays.splice(0).map((relay) => relay.close().catch(() => {})))
}
