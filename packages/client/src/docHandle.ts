/**
 * Owns one open document on the client: its Y.Doc and Awareness, loading it
 * from the device store, storing every local update before it goes to the
 * network, syncing with the relay over the shared connection, and knowing
 * which local updates the relay has acknowledged as durable.
 *
 * Pending tracking: each stored local update is pending until an ack covers
 * the sequence number it was sent with, either alone (an `update` frame) or
 * inside the sync step 2 that answers the relay's step 1 on a new
 * connection. A sequence number belongs to one connection; on a reconnect
 * every pending update is sent again, inside the next step 2, and only that
 * step 2's ack settles the updates sent on the connection before it.
 */
import { closeCodes, decodeAwarenessUpdate, type NativeFrame } from '@concord/protocol'
import { ObservableV2 } from 'lib0/observable'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { ConcordError } from './errors.js'
import type { LocalStore } from './localStore.js'
import { syncStatusOf, type ConnectionStatus, type SyncStatus } from './syncStatus.js'

/** What a handle needs from the client's connection to the relay. */
export interface RelayLink {
  readonly status: ConnectionStatus
  /** Sends a frame if the connection is open; returns false when it is not. */
  send(frame: NativeFrame): boolean
}

/** What a handle needs from the channel between tabs: send to the other tabs. */
export interface TabLink {
  post(doc: string, kind: 'update' | 'awareness', data: Uint8Array): void
}

export interface DocHandleOptions {
  readonly id: string
  readonly store: Promise<LocalStore>
  readonly link: RelayLink
  readonly tabs?: TabLink | undefined
  /**
   * Merge the stored log into the snapshot after this many appends, and
   * merge this many local updates that wait, unsent, for a connection into
   * one. Default 100.
   */
  readonly compactAfterUpdates?: number
  /** ... or once the appends since the last merge add up to this many bytes. Default 1 MiB. */
  readonly compactAfterBytes?: number
  /** Called once, after `close()`, so the client forgets the handle. */
  readonly onClose?: (handle: DocHandle) => void
}

export interface DocHandleEvents {
  status: (status: SyncStatus) => void
  pending: (pending: number) => void
  error: (error: ConcordError) => void
}

interface PendingUpdate {
  /** When it was made in this handle's life (0: before, loaded from the store). */
  readonly ordinal: number
  /** The sequence number it was sent with on the current connection; 0 when not sent on it. */
  seq: number
}

interface SyncWaiter {
  readonly ordinal: number
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

// Origins of Y.Doc updates that are not local edits.
const fromStore = Symbol('concord: from the device store')
const fromRelay = Symbol('concord: from the relay')
const fromTab = Symbol('concord: from another tab')

export class DocHandle extends ObservableV2<DocHandleEvents> {
  readonly id: string
  readonly doc = new Y.Doc()
  readonly awareness: Awareness

  readonly #store: Promise<LocalStore>
  readonly #link: RelayLink
  readonly #tabs: TabLink | undefined
  readonly #compactAfterUpdates: number
  readonly #compactAfterBytes: number
  readonly #onClose: ((handle: DocHandle) => void) | undefined
  readonly #loaded: Promise<void>
  #isLoaded = false
  /** Frames that arrived on the current connection before the handle could open the document on it. */
  #earlyFrames: NativeFrame[] = []
  #status: SyncStatus
  #connection: ConnectionStatus = 'offline'
  /** Bumped on every connection change, so work begun for an old connection can tell. */
  #connectionEpoch = 0
  /** The relay knows this document is open on the current connection. */
  #openOnRelay = false
  #relayStateReceived = false
  /** Clients whose presence came through the relay: it is stale once the connection is gone. */
  readonly #presenceFromRelay = new Set<number>()
  /** The relay refused this document for good (forbidden, or an invalid name): do not open it again. */
  #refused = false
  #lastSeq = 0
  readonly #pending = new Map<number, PendingUpdate>()
  #localOrdinal = 0
  #storedOrdinal = 0
  #unstored = 0
  #writes: Promise<void>
  #appendsSinceCompaction = 0
  #bytesSinceCompaction = 0
  #storedWaiters: Array<() => void> = []
  #syncWaiters: SyncWaiter[] = []
  #closed = false

  constructor(options: DocHandleOptions) {
    super()
    this.id = options.id
    this.#store = options.store
    this.#link = options.link
    this.#tabs = options.tabs
    this.#compactAfterUpdates = options.compactAfterUpdates ?? 100
    this.#compactAfterBytes = options.compactAfterBytes ?? 1024 * 1024
    this.#onClose = options.onClose
    this.awareness = new Awareness(this.doc)
    this.#status = this.#currentStatus()
    this.#loaded = this.#load()
    this.#loaded.catch((error: unknown) => {
      this.emit('error', [
        new ConcordError('store', `could not load "${this.id}" from the device store`, this.id, { cause: error }),
      ])
    })
    // Local edits made before the load finished are stored after it.
    this.#writes = this.#loaded.catch(() => {})
    this.doc.on('update', this.#onDocUpdate)
    this.awareness.on('update', this.#onAwarenessUpdate)
  }

  get status(): SyncStatus {
    return this.#status
  }

  /** Local updates not yet acknowledged as durable by the relay (stored or still being stored). */
  get pending(): number {
    return this.#unstored + this.#pending.size
  }

  /** Resolves once the stored state is applied to `doc`; rejects if the device store cannot be read. */
  whenLoaded(): Promise<void> {
    return this.#loaded
  }

  /**
   * Resolves once every local update made before the call is acknowledged
   * as durable by the relay, and the relay's state has been received on the
   * current connection. Waits across reconnects; rejects only when the
   * handle is closed first.
   */
  whenSynced(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.#syncWaiters.push({ ordinal: this.#localOrdinal, resolve, reject })
    })
    // Callers that never await it must not see an unhandled rejection when the handle closes.
    promise.catch(() => {})
    this.#settleSyncWaiters()
    return promise
  }

  /** Stops syncing this document: tells the others this client left, and releases the handle. Stored data stays. */
  close(): void {
    if (this.#closed) return
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'close')
    if (this.#openOnRelay) this.#link.send({ type: 'close', doc: this.id })
    this.#closed = true
    this.doc.off('update', this.#onDocUpdate)
    this.awareness.off('update', this.#onAwarenessUpdate)
    this.awareness.destroy()
    const error = new ConcordError('closed', `document "${this.id}" was closed`, this.id)
    for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(error)
    this.#onClose?.(this)
  }

  /** Resolves once everything this handle asked the store to write is written. */
  async flushed(): Promise<void> {
    await this.#writes
  }

  /** For the client: the connection to the relay changed. */
  connectionChanged(status: ConnectionStatus): void {
    if (this.#closed || status === this.#connection) return
    this.#connection = status
    this.#connectionEpoch++
    this.#forgetPresenceFromRelay()
    this.#openOnRelay = false
    this.#relayStateReceived = false
    this.#lastSeq = 0
    this.#earlyFrames = []
    for (const update of this.#pending.values()) update.seq = 0
    if (status === 'open' && this.#refused) {
      // Refused for good: stay out.
    } else if (status === 'open' && this.#isLoaded) this.#openOnTheRelay()
    else if (status === 'open') {
      const epoch = this.#connectionEpoch
      this.#loaded.then(
        () => epoch === this.#connectionEpoch && !this.#closed && !this.#refused && this.#openOnTheRelay(),
        () => {},
      )
    }
    this.#updateStatus()
  }

  /** For the client: a frame the relay sent for this document. */
  receive(frame: NativeFrame): void {
    if (this.#closed) return
    if (!this.#openOnRelay) {
      // A y-websocket server speaks first, possibly while the stored state is still loading.
      if (this.#connection === 'open' && !this.#isLoaded) this.#earlyFrames.push(frame)
      return
    }
    switch (frame.type) {
      case 'sync':
        if (frame.sync.type === 'step1') {
          void this.#answerStep1(frame.sync.stateVector)
          return
        }
        Y.applyUpdate(this.doc, frame.sync.update, fromRelay)
        if (frame.sync.type === 'step2') {
          this.#relayStateReceived = true
          this.#updateStatus()
          this.#settleSyncWaiters()
        }
        return
      case 'ack':
        this.#acknowledge(frame.seq)
        return
      case 'awareness':
        applyAwarenessUpdate(this.awareness, frame.update, fromRelay)
        for (const { clientId } of decodeAwarenessUpdate(frame.update)) this.#presenceFromRelay.add(clientId)
        return
      case 'queryAwareness':
        this.#sendLocalAwareness()
        return
      case 'error':
        this.#openOnRelay = false
        this.#relayStateReceived = false
        this.#refused = frame.code === closeCodes.forbidden || frame.code === closeCodes.invalidDocumentName
        this.#updateStatus()
        this.emit('error', [ConcordError.fromRelay(frame.code, frame.reason, this.id)])
        return
      default:
        return
    }
  }

  /** For the client: an update or awareness change another tab made. */
  receiveFromTab(kind: 'update' | 'awareness', data: Uint8Array): void {
    if (this.#closed) return
    if (kind === 'update') {
      Y.applyUpdate(this.doc, data, fromTab)
      return
    }
    applyAwarenessUpdate(this.awareness, data, fromTab)
    // A tab's presence is its own to keep, whatever the relay said of that client before.
    for (const { clientId } of decodeAwarenessUpdate(data)) this.#presenceFromRelay.delete(clientId)
  }

  async #load(): Promise<void> {
    const store = await this.#store
    const stored = await store.load(this.id)
    const updates = stored.snapshot ? [stored.snapshot] : []
    for (const { id, update, pending } of stored.updates) {
      updates.push(update)
      if (pending) this.#pending.set(id, { ordinal: 0, seq: 0 })
    }
    // One transaction: observers run once, and it costs far less than Y.mergeUpdates of a long log.
    if (updates.length > 0) {
      Y.transact(
        this.doc,
        () => {
          for (const update of updates) Y.applyUpdate(this.doc, update, fromStore)
        },
        fromStore,
      )
    }
    this.#isLoaded = true
    this.#appendsSinceCompaction = stored.updates.length
    this.#bytesSinceCompaction = stored.updates.reduce((bytes, { update }) => bytes + update.length, 0)
    this.emit('pending', [this.pending])
    this.#updateStatus()
  }

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === fromStore || origin === fromTab) return
    if (origin === fromRelay) {
      this.#write((store) => store.append(this.id, update, false), update.length)
      return
    }
    const ordinal = ++this.#localOrdinal
    this.#unstored++
    this.#tabs?.post(this.id, 'update', update)
    this.emit('pending', [this.pending])
    this.#updateStatus()
    this.#write(async (store) => {
      const id = await store.append(this.id, update, true)
      this.#unstored--
      this.#storedOrdinal = ordinal
      const pending: PendingUpdate = { ordinal, seq: 0 }
      this.#pending.set(id, pending)
      // Stored first, then offered to the network.
      if (this.#openOnRelay) pending.seq = this.#sendSync({ type: 'update', update })
      if (this.#unstored === 0) for (const resolve of this.#storedWaiters.splice(0)) resolve()
    }, update.length)
  }

  readonly #onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin === fromRelay || origin === fromTab) return
    const update = encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed])
    this.#tabs?.post(this.id, 'awareness', update)
    if (this.#openOnRelay) this.#link.send({ type: 'awareness', doc: this.id, update })
  }

  /**
   * Runs one store operation after those before it, then compacts if the
   * appends since the last compaction (`appendedBytes` is this operation's)
   * passed a threshold. A failure is reported, never thrown.
   */
  #write(operation: (store: LocalStore) => Promise<unknown>, appendedBytes = 0): void {
    this.#writes = this.#writes
      .then(() => this.#store)
      .then(async (store) => {
        await operation(store)
        if (appendedBytes === 0) return
        this.#appendsSinceCompaction++
        this.#bytesSinceCompaction += appendedBytes
        if (
          this.#appendsSinceCompaction >= this.#compactAfterUpdates ||
          this.#bytesSinceCompaction >= this.#compactAfterBytes
        ) {
          this.#appendsSinceCompaction = this.#bytesSinceCompaction = 0
          await store.compact(this.id, (updates) => Y.mergeUpdates(updates))
        }
        await this.#mergeUnsentUpdates(store)
      })
      .catch((error: unknown) => {
        this.emit('error', [
          new ConcordError('store', `the device store failed for "${this.id}"`, this.id, { cause: error }),
        ])
      })
  }

  /**
   * Compaction keeps pending updates apart, so an offline session would grow
   * the stored log by one record an edit, and every load would read them all.
   * Once enough wait unsent, they become one. Only unsent ones: all of them
   * then share one fate (a later step 2 carries them together), so the
   * record that holds them all, under the greatest id, is acknowledged
   * exactly when each of them would have been.
   */
  async #mergeUnsentUpdates(store: LocalStore): Promise<void> {
    // Runs after every append: skip the scan while too few are pending to matter.
    if (this.#pending.size < Math.max(2, this.#compactAfterUpdates)) return
    const unsent = [...this.#pending].filter(([, pending]) => pending.seq === 0).map(([id]) => id)
    if (unsent.length < Math.max(2, this.#compactAfterUpdates)) return
    if (!(await store.mergePending(this.id, unsent, (updates) => Y.mergeUpdates(updates)))) return
    const kept = Math.max(...unsent)
    let ordinal = Infinity
    for (const id of unsent) {
      const pending = this.#pending.get(id)
      if (!pending) continue
      ordinal = Math.min(ordinal, pending.ordinal)
      if (id !== kept) this.#pending.delete(id)
    }
    const keptPending = this.#pending.get(kept)
    if (keptPending) this.#pending.set(kept, { ordinal, seq: keptPending.seq })
    this.emit('pending', [this.pending])
  }

  #openOnTheRelay(): void {
    if (!this.#link.send({ type: 'open', doc: this.id })) return
    this.#advanceLocalAwarenessClock()
    this.#openOnRelay = true
    this.#link.send({
      type: 'sync',
      doc: this.id,
      seq: 0,
      sync: { type: 'step1', stateVector: Y.encodeStateVector(this.doc) },
    })
    this.#sendLocalAwareness()
    for (const frame of this.#earlyFrames.splice(0)) this.receive(frame)
  }

  /** Who was here through the relay is unknown without it; other tabs still speak for themselves. */
  #forgetPresenceFromRelay(): void {
    const stale = [...this.#presenceFromRelay].filter((clientId) => clientId !== this.doc.clientID)
    this.#presenceFromRelay.clear()
    if (stale.length > 0) removeAwarenessStates(this.awareness, stale, fromRelay)
  }

  /**
   * Awareness keeps the state with the highest clock, and a removal wins a
   * tie. When this client's last connection closed, the relay told the others
   * it left with a clock one past the last it saw; when the relay itself went
   * away, the others dropped this client at its current clock. Announced
   * again at the same clock, the state would be ignored until Awareness
   * renews it (15 s, twice over for the first case): two renewals now put it
   * past both. Called before the handle counts as open, so neither is sent.
   */
  #advanceLocalAwarenessClock(): void {
    const state = this.awareness.getLocalState()
    if (state === null) return
    this.awareness.setLocalState(state)
    this.awareness.setLocalState(state)
  }

  #sendLocalAwareness(): void {
    if (this.awareness.getLocalState() === null) return
    const update = encodeAwarenessUpdate(this.awareness, [this.doc.clientID])
    this.#link.send({ type: 'awareness', doc: this.id, update })
  }

  /** Sends what the relay lacks, once every local update in the doc is stored. */
  async #answerStep1(stateVector: Uint8Array): Promise<void> {
    const epoch = this.#connectionEpoch
    if (this.#unstored > 0) await new Promise<void>((resolve) => this.#storedWaiters.push(resolve))
    if (epoch !== this.#connectionEpoch || this.#closed || !this.#openOnRelay) return
    const seq = this.#sendSync({ type: 'step2', update: Y.encodeStateAsUpdate(this.doc, stateVector) })
    // Every pending update is settled by this step 2's ack, also those already sent alone on this
    // connection: they may build on earlier pending updates that only the step 2 carries, and a
    // relay that stored them without it could not read them.
    for (const pending of this.#pending.values()) pending.seq = seq
  }

  #sendSync(sync: { type: 'step2' | 'update'; update: Uint8Array }): number {
    const seq = ++this.#lastSeq
    this.#link.send({ type: 'sync', doc: this.id, seq, sync })
    return seq
  }

  #acknowledge(seq: number): void {
    const acknowledged: number[] = []
    for (const [id, pending] of this.#pending) {
      if (pending.seq > 0 && pending.seq <= seq) acknowledged.push(id)
    }
    if (acknowledged.length === 0) return
    for (const id of acknowledged) this.#pending.delete(id)
    this.#write((store) => store.acknowledge(this.id, acknowledged))
    this.emit('pending', [this.pending])
    this.#updateStatus()
    this.#settleSyncWaiters()
  }

  #settleSyncWaiters(): void {
    if (!this.#relayStateReceived || this.#syncWaiters.length === 0) return
    let oldestPending = Infinity
    for (const { ordinal } of this.#pending.values()) oldestPending = Math.min(oldestPending, ordinal)
    this.#syncWaiters = this.#syncWaiters.filter((waiter) => {
      const done = this.#storedOrdinal >= waiter.ordinal && oldestPending > waiter.ordinal
      if (done) waiter.resolve()
      return !done
    })
  }

  #currentStatus(): SyncStatus {
    return syncStatusOf({
      connection: this.#connection,
      relayStateReceived: this.#relayStateReceived,
      pending: this.pending,
    })
  }

  #updateStatus(): void {
    const status = this.#currentStatus()
    if (status === this.#status) return
    this.#status = status
    this.emit('status', [status])
  }
}
