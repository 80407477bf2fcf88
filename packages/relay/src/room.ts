/**
 * Owns one loaded document on the relay: who is in it, its content in
 * memory, its presence, and its writes to the store. Updates are validated,
 * forwarded as the same bytes to the other peers at once, and appended to
 * the store; the promise a write returns resolves once it is durable. A room
 * that cannot load or store its document refuses every peer rather than
 * serve a blank, and is dropped so that the next peer loads it afresh.
 *
 * The room orchestrates; its parts own one idea each: loadingQueue.ts (what
 * waits for the load), roomAdmission.ts (what gets into the document),
 * documentLog.ts (appends and compactions), step1Answers.ts (answering a
 * sync step 1), readBackChecks.ts (cluster mode: ack and forward only what
 * the log serves), contestedClients.ts, roomPresence.ts, roomPeer.ts (the
 * contract with a connection) and roomOptions.ts.
 */
import { decodeAwarenessUpdate, type CloseCodeName, type SyncMessage } from '@concord/protocol'
import { AppliedRows, readLog } from './appliedRows.js'
import { ContestedClients } from './contestedClients.js'
import type { StoredRow } from './docStore.js'
import { DocumentEvents } from './documentEvents.js'
import { DocumentLog } from './documentLog.js'
import { DocumentQuarantine } from './documentQuarantine.js'
import { DocumentState } from './documentState.js'
import { DocumentDeletedError } from './errors.js'
import type { FanoutLink, FanoutMember } from './fanout.js'
import { KnownClocks } from './knownClocks.js'
import { LoadingQueue } from './loadingQueue.js'
import { ReadBackChecks } from './readBackChecks.js'
import { RoomAdmission } from './roomAdmission.js'
import { encodeFor, forwardableFrame, type OutgoingMessage } from './roomFrames.js'
import type { RoomOptions } from './roomOptions.js'
import { confirmDurable, durableOnceWritten, type RoomMessage, type RoomPeer, type SyncOutcome } from './roomPeer.js'
import { RoomPresence } from './roomPresence.js'
import { Step1Answers } from './step1Answers.js'
import { inspectUpdate, type ClockRange } from './yjsUpdates.js'
import * as Y from 'yjs'

export type { RoomMessage, RoomPeer, SyncOutcome } from './roomPeer.js'
export type { RoomOptions } from './roomOptions.js'

/** The next clock of each client of `ranges`, for a webhook event. */
const clocksOf = (known: KnownClocks | undefined, ranges: readonly ClockRange[]): Record<string, number> =>
  known ? Object.fromEntries(known.stateVectorFor(ranges)) : {}

export class Room implements FanoutMember {
  readonly #peers = new Set<RoomPeer>()
  readonly #step1Answers: Step1Answers
  /** Owned by a local peer, or by another relay (cluster mode). */
  readonly #presence: RoomPresence
  #status: 'loading' | 'ready' | 'gone' = 'loading'
  #state: DocumentState | undefined
  /** Clients whose clocks past those held the relay refused: what builds on them is refused. */
  readonly #contested: ContestedClients
  /** What the room lets into its document (see roomAdmission.ts). */
  readonly #admission: RoomAdmission
  /** Messages that arrived while the document loads. */
  readonly #loadingQueue: LoadingQueue
  /** The document's log in the store: its appends and compactions. */
  readonly #log: DocumentLog
  #unloadTimer: NodeJS.Timeout | undefined
  readonly #link: FanoutLink | undefined
  /** Updates from other relays that arrived while the document was loading. */
  #remoteWhileLoading: Uint8Array[] = []
  #resync: { running: boolean; again: boolean } = { running: false, again: false }
  readonly #quarantine: DocumentQuarantine
  readonly #events: DocumentEvents | undefined
  /** Cluster mode: whether the store serves what this relay stored, asked before each ack (see readBackChecks.ts). */
  readonly #readBack: ReadBackChecks | undefined
  /** Cluster mode, with a store that names rows: how far the document holds the log (see appliedRows.ts). */
  readonly #applied: AppliedRows | undefined

  constructor(
    readonly name: string,
    private readonly options: RoomOptions,
  ) {
    this.#presence = new RoomPresence(options.maxAwarenessStateBytes)
    this.#loadingQueue = new LoadingQueue(name, options)
    this.#contested = new ContestedClients(name, options.store, options.logger)
    this.#quarantine = new DocumentQuarantine(name, {
      ...options,
      cluster: options.fanout !== undefined,
      onQuarantined: (from) => {
        // What the room holds and what the log serves may differ from now on.
        this.#applied?.stop()
        options.onQuarantined?.(from)
      },
    })
    this.#admission = new RoomAdmission({
      state: () => this.#state!,
      guard: (merge) => this.#guard(merge),
      gone: () => this.#status === 'gone',
      contested: this.#contested,
      quarantine: this.#quarantine,
    })
    this.#link = options.fanout?.join(name, this)
    this.#events = options.events && new DocumentEvents(name, options.events)
    this.#applied = options.fanout && options.store.loadRows ? new AppliedRows() : undefined
    this.#readBack =
      options.fanout &&
      new ReadBackChecks(name, options.store, options.logger, {
        served: (update, sender, ranges, row) => {
          // Only now is it stored for good: what says so (the hooks, the news, the webhook's clocks) is told now.
          // Forwarded only now: a peer's Yjs document can never give back an update the log sets aside,
          // and would send it again in every step 2, to be refused for good.
          if (this.#status === 'ready') this.#broadcast({ type: 'sync', sync: { type: 'update', update } }, sender)
          this.#link?.publishUpdate(update, row)
          this.options.stored?.(this.name, update, sender.by)
          this.#claimClocks(ranges)
          if (row) this.#applied?.applied(row)
        },
        contradicted: (ranges) => {
          // The room holds an update the log sets aside, until it is refused.
          this.#applied?.stop()
          this.#contested.add(ranges)
          return this.#contested.save()
        },
        changedElsewhere: () => {
          if (this.#status === 'ready')
            this.#refuseEveryone('documentUnavailable', 'the document changed on another relay')
        },
        unreadable: (error) => this.#fail('the relay could not read back what the store holds of this document', error),
      })
    this.#step1Answers = new Step1Answers({
      name,
      state: () => this.#state!,
      guard: (merge) => this.#guard(merge),
      afterLastWrite: () => this.#log.afterLastWrite(),
      serves: (peer) => this.#status === 'ready' && this.#peers.has(peer),
      readBack: this.#readBack,
    })
    this.#log = new DocumentLog({
      name,
      store: options.store,
      logger: options.logger,
      compactAfterUpdates: options.compactAfterUpdates,
      appended: (update, by) => {
        // Durable now: other relays that miss this message find the update in the store. In cluster
        // mode, told once the store is known to serve it (see readBackChecks.ts): news of an update the
        // log sets aside would be served by the relays that hear it until they reload.
        // The same for the hooks: an update the log sets aside is never reported as stored.
        if (this.#readBack) return
        this.#link?.publishUpdate(update)
        this.options.stored?.(this.name, update, by)
      },
      failed: (error) => this.#fail('the relay could not store an update of this document', error),
      mergedBytes: () => this.#state?.mergedBytes ?? 0,
      compacted: (log, lastRow) => this.#compacted(log, lastRow),
      stateToStore: () => this.#stateToStore(),
      gone: () => this.#status === 'gone',
    })
    void this.#load()
  }

  get peerCount(): number {
    return this.#peers.size
  }

  join(peer: RoomPeer): void {
    if (this.#status === 'gone') throw new Error(`room "${this.name}" is gone`)
    this.#peers.add(peer)
    clearTimeout(this.#unloadTimer)
    if (this.#status === 'ready') this.#greet(peer)
  }

  leave(peer: RoomPeer): void {
    if (!this.#peers.delete(peer)) return
    if (this.#loadingQueue.holds(peer)) this.#loadingQueue.drop((queued) => queued.peer === peer, 'the peer left')
    const removal = this.#presence.removePeer(peer)
    if (removal) {
      this.#broadcast({ type: 'awareness', update: removal })
      this.#link?.publishAwareness(removal)
    }
    if (this.#peers.size === 0) this.#scheduleUnload()
  }

  /**
   * Handles one message from `peer`. For a sync message, returns a promise
   * of its outcome (see SyncOutcome); a durable one resolves once what it
   * carries is durable (for a frame that stores nothing: once everything
   * stored before it is). Returns undefined, or resolves with undefined, when
   * the message gets no outcome: it is not a sync message, or the room
   * refused the peer meanwhile. Throws (or, while the document loads,
   * rejects) a ProtocolError when the message is malformed; rejects with
   * another error when the document could not be loaded or stored, after
   * refusing the peer.
   */
  receive(peer: RoomPeer, message: RoomMessage): Promise<SyncOutcome | undefined> | undefined {
    if (this.#status === 'loading') return this.#loadingQueue.add(peer, message)
    if (this.#status === 'gone' || !this.#peers.has(peer)) return undefined
    switch (message.type) {
      case 'sync':
        return this.#receiveSync(peer, message.sync, message.frame)
      case 'awareness': {
        const update = this.#presence.fromPeer(peer, message.update)
        // A stock y-websocket provider drops a socket that received nothing for 30 s, and
        // counts on its own awareness renewals (every 15 s) coming back: echo them to it.
        if (update) {
          this.#broadcast({ type: 'awareness', update }, peer.mode === 'y-websocket' ? undefined : peer)
          this.#link?.publishAwareness(update)
        }
        return undefined
      }
      case 'queryAwareness': {
        const snapshot = this.#presence.snapshot()
        if (snapshot) peer.send(encodeFor(peer.mode, this.name, { type: 'awareness', update: snapshot }))
        return undefined
      }
    }
  }

  // --- Cluster mode: news from the other relays (see fanout.ts). Never stored again here. ---

  applyRemote(update: Uint8Array, relayId?: string, row?: StoredRow): void {
    if (this.#status === 'gone') return
    let empty: boolean
    try {
      // Decoded for its clocks only: admission checks it in full before the room holds or forwards it.
      const inspected = inspectUpdate(update, true)
      empty = inspected.empty
      // A row the log serves, its relay says: this relay's appends after it need not read it back.
      if (row) this.#readBack?.heard(row, inspected.ranges)
    } catch (error) {
      this.options.logger.warn({ doc: this.name, err: error }, 'dropped an update from another relay')
      this.#applied?.stop()
      return
    }
    if (!empty && this.#status === 'loading') this.#remoteWhileLoading.push(update)
    else if (!empty) this.#addRemote(update, relayId)
    // Held now (unless admission quarantined it, which stops the count).
    if (row) this.#applied?.applied(row)
  }

  applyRemoteAwareness(relayId: string, update: Uint8Array): void {
    if (this.#status === 'gone') return
    try {
      const accepted = this.#presence.fromRelay(relayId, update)
      if (accepted) this.#broadcast({ type: 'awareness', update: accepted })
    } catch (error) {
      this.options.logger.warn({ doc: this.name, relayId, err: error }, 'dropped presence from another relay')
    }
  }

  removeRelay(relayId: string): void {
    if (this.#status === 'gone') return
    const removal = this.#presence.removeRelay(relayId)
    if (!removal) return
    this.#broadcast({ type: 'awareness', update: removal })
    // It may hand a client to one of our peers that claimed it (see Presence): the other relays must
    // hear of that; each of them removes the dead relay's clients on its own.
    if (decodeAwarenessUpdate(removal).some(({ state }) => state !== 'null')) this.#link?.publishAwareness(removal)
  }

  localPresence(): Uint8Array | undefined {
    return this.#presence.localSnapshot()
  }

  /** Reloads the document from the store and sends the peers what the room did not have. */
  resync(): void {
    // A load's read may have run before what was missed was stored: resync once it is done.
    if (this.#resync.running || this.#status === 'loading') {
      this.#resync.again = true
      return
    }
    if (this.#status !== 'ready') return
    this.#resync.running = true
    this.options.store
      .load(this.name)
      .then(
        (stored) => {
          if (this.#status !== 'ready' || stored.length === 0) return
          const missing = this.#guard(() => Y.diffUpdate(this.#quarantine.merge(stored), this.#state!.stateVector()))
          if (missing && this.#guard(() => inspectUpdate(missing, true).empty) === false) this.#addRemote(missing)
        },
        (error: unknown) => {
          // Deleted meanwhile, the news of it lost with what made this resync (a gap, a reconnect).
          if (error instanceof DocumentDeletedError) return this.deleted()
          this.options.logger.warn({ doc: this.name, err: error }, 'resync from the store failed')
        },
      )
      .finally(() => {
        this.#resync.running = false
        if (this.#resync.again) {
          this.#resync.again = false
          this.resync()
        }
      })
  }

  #addRemote(received: Uint8Array, relayId?: string): void {
    const state = this.#state!
    this.#events?.exists()
    const update = this.#admission.fromRelay(received, relayId)
    if (update === undefined) return
    if (state.add(update)) setImmediate(() => this.#status === 'ready' && this.#guard(() => state.merge()))
    this.#broadcast({ type: 'sync', sync: { type: 'update', update } })
  }

  /**
   * `peer` may write now where it could only read (an auth frame with another token): the room sends
   * it a sync step 1, so that it sends, in its step 2, what it has that the room lacks, among which
   * the edits the room dropped while it could only read.
   */
  writeGranted(peer: RoomPeer): void {
    if (this.#status !== 'ready' || !this.#peers.has(peer) || !this.#admission.droppedWritesOf(peer)) return
    const stateVector = this.#guard(() => this.#state!.stateVector())
    if (stateVector) peer.send(encodeFor(peer.mode, this.name, { type: 'sync', sync: { type: 'step1', stateVector } }))
  }

  /** Stops serving (peers are the caller's to close) and resolves once every write has settled. */
  async close(): Promise<void> {
    const wasReady = this.#status === 'ready'
    this.#gone()
    await this.#log.settled()
    if (wasReady) this.#tellSettledGone()
  }

  #tellSettledGone(): void {
    const state = this.#state
    this.options.settledGone?.(this.name, () => state?.held())
  }

  #receiveSync(peer: RoomPeer, sync: SyncMessage, frame?: Uint8Array): Promise<SyncOutcome | undefined> | undefined {
    const state = this.#state!
    if (sync.type === 'step1') return this.#step1Answers.answer(peer, sync.stateVector)
    const admission = this.#admission.fromPeer(peer, sync.update)
    if (admission.kind === 'settled') return admission.outcome
    if (admission.kind === 'held') return confirmDurable(peer, this.#log.afterLastWrite(), () => sync.update, frame)
    const { update, ranges } = admission
    if (state.add(update)) setImmediate(() => this.#status === 'ready' && this.#guard(() => state.merge()))
    const written = this.#write(update, peer.by, ranges)
    if (!this.#readBack) {
      this.#broadcast({ type: 'sync', sync: { type: 'update', update } }, peer, forwardableFrame(frame, update))
      return durableOnceWritten(peer, written, sync.update, frame)
    }
    // Cluster mode: forwarded once the log serves it (see readBackChecks.ts).
    return confirmDurable(peer, this.#readBack.check(written, update, peer, ranges), () => sync.update, frame)
  }

  /** Cluster mode: the clocks of `ranges` are served, and go to the webhook events (see #write). */
  #claimClocks(ranges: readonly ClockRange[]): void {
    const { recordEvents } = this.options.store
    if (!this.#events || !recordEvents || ranges.length === 0) return
    // Its own ends, not the room's clocks: those may hold later writes the log has not served yet.
    const clocks: Record<string, number> = {}
    for (const { client, end } of ranges) clocks[String(client)] = Math.max(clocks[String(client)] ?? 0, end)
    const events = [this.#events.served(clocks)]
    recordEvents.call(this.options.store, events).catch((error: unknown) => {
      this.options.logger.warn({ doc: this.name, err: error }, 'could not record the clocks of a webhook event')
    })
  }

  #write(update: Uint8Array, by: string | undefined, ranges: readonly ClockRange[]): Promise<StoredRow | void> {
    // The clocks of the clients it wrote only: the store gathers the document's (see webhookOutbox.ts).
    // In cluster mode the log may set the update aside: its clocks are claimed once the store serves
    // it (#claimClocks), and the event of its transaction says only who wrote.
    const deferClocks = this.#readBack !== undefined && this.options.store.recordEvents !== undefined
    const events = this.#events?.written(by, () => (deferClocks ? {} : clocksOf(this.#admission.knownClocks, ranges)))
    return this.#log.append(update, by, events)
  }

  async #load(): Promise<void> {
    let stored: Uint8Array[]
    try {
      // Subscribed first: every update stored after the load starts then arrives as news.
      await this.#link?.ready
      const [read, contested] = await Promise.all([
        readLog(this.options.store, this.name, this.#applied !== undefined),
        this.#contested.load(),
      ])
      const { lastRow } = read
      stored = read.stored
      this.#contested.restore(contested)
      let seeded = false
      if (stored.length === 0 && this.options.seed) {
        stored = await this.#seed(this.options.seed)
        seeded = stored.length > 0
      }
      if (this.#status !== 'loading') return
      const log = [...stored, ...this.#remoteWhileLoading]
      this.#remoteWhileLoading = []
      if (log.length > 0) this.#events?.exists()
      // In cluster mode two relays may have stored contradicting updates at once: the log's order decides.
      const { updates, known } = this.#quarantine.admit(log)
      this.#admission.loaded(known)
      this.#state = new DocumentState(updates, undefined, this.#quarantine.fromStore)
      // A seed is a row the load did not read.
      if (!seeded) {
        this.#applied?.loaded(lastRow)
        if (this.#applied && known) this.#readBack?.loaded(lastRow, known.copy())
      }
    } catch (error) {
      this.#fail('the relay could not load this document', error)
      return
    }
    this.#status = 'ready'
    this.#log.loaded(stored)
    this.options.logger.debug({ doc: this.name, storedUpdates: stored.length }, 'document loaded')
    for (const peer of this.#peers) this.#greet(peer)
    for (const { peer, message, resolve, reject } of this.#loadingQueue.takeAll()) {
      try {
        const outcome = this.receive(peer, message)
        // A dropped or refused frame resolves with what became of it, never as if it were durable.
        if (outcome) outcome.then(resolve, reject)
        else resolve(undefined)
      } catch (error) {
        reject(error)
      }
    }
    if (stored.length >= this.options.compactAfterUpdates) this.#log.compact()
    if (this.#peers.size === 0) this.#scheduleUnload()
    if (this.#resync.again) {
      this.#resync.again = false
      this.resync()
    }
  }

  /** Stores what the `loadDocument` hook gives for a document the store does not have, before anyone sees it. */
  async #seed(seed: (name: string) => Promise<Uint8Array | undefined>): Promise<Uint8Array[]> {
    const initial = await seed(this.name)
    if (initial === undefined) return []
    const { empty, ranges } = inspectUpdate(initial)
    if (empty) return []
    const events = this.#events?.written('server', () => clocksOf(new KnownClocks(ranges), ranges))
    await this.options.store.append(this.name, initial, events)
    return [initial]
  }

  /** The relay's sync step 1, and who is here. */
  #greet(peer: RoomPeer): void {
    if (peer.greeted === false) return
    const stateVector = this.#guard(() => this.#state!.stateVector())
    if (!stateVector) return
    peer.send(encodeFor(peer.mode, this.name, { type: 'sync', sync: { type: 'step1', stateVector } }))
    const snapshot = this.#presence.snapshot()
    if (snapshot) peer.send(encodeFor(peer.mode, this.name, { type: 'awareness', update: snapshot }))
  }

  #broadcast(message: OutgoingMessage, except?: RoomPeer, yWebsocketFrameOf?: Uint8Array): void {
    // Encode once per wire mode, not once per peer; for y-websocket, at best not at all.
    let yWebsocketFrame = yWebsocketFrameOf
    let nativeFrame: Uint8Array | undefined
    for (const peer of this.#peers) {
      if (peer === except) continue
      if (peer.mode === 'native') peer.send((nativeFrame ??= encodeFor('native', this.name, message)))
      else peer.send((yWebsocketFrame ??= encodeFor('y-websocket', this.name, message)))
    }
  }

  /**
   * What replaces the stored `log`. Alone, a relay's log holds only what its room admitted, all of
   * it in the room's state (which may hold more: updates whose writes are in flight, which Yjs
   * applies once however often they are stored), so the room's merge serves, and the log is not
   * merged a second time on this thread. In cluster mode the log's order decides what is served
   * (see quarantine.ts): it is merged as read, unless the room holds exactly what the log serves:
   * every row up to the compaction's last (the compaction holds the document's lock, so no row
   * after it is committed, nor heard of), nothing being written or checked, nothing set aside.
   */
  #compacted(log: Uint8Array[], lastRow?: string): Uint8Array {
    const state = this.#state
    if (this.options.fanout) {
      const holdsLog =
        state !== undefined &&
        this.#status === 'ready' &&
        lastRow !== undefined &&
        this.#applied?.holdsExactly(lastRow) === true &&
        !this.#log.writing &&
        !this.#readBack?.inFlight
      return (holdsLog && this.#guard(() => state.merge())) || this.#quarantine.merge(log)
    }
    if (!state) return this.#quarantine.merge(log)
    if (this.#status === 'ready') return this.#guard(() => state.merge()) ?? this.#quarantine.merge(log)
    // Unloaded, every write settled: the state is what the store holds.
    try {
      return state.merge()
    } catch {
      return this.#quarantine.merge(log)
    }
  }

  /**
   * What replaces the whole stored log, unread: alone, the room's merge, for the reasons above.
   * Undefined in cluster mode, or when the merge fails (#compacted then merges the log as read).
   */
  #stateToStore(): Uint8Array | undefined {
    const state = this.#state
    if (this.options.fanout || !state) return undefined
    if (this.#status === 'ready') return this.#guard(() => state.merge())
    try {
      return state.merge()
    } catch {
      return undefined
    }
  }

  #scheduleUnload(): void {
    clearTimeout(this.#unloadTimer)
    this.#unloadTimer = setTimeout(() => void this.#unloadIfIdle(), this.options.unloadAfterMs)
    this.#unloadTimer.unref()
  }

  async #unloadIfIdle(): Promise<void> {
    await this.#log.settled()
    if (this.#status !== 'ready' || this.#peers.size > 0) return
    this.#gone()
    this.options.logger.debug({ doc: this.name }, 'document unloaded')
    this.#tellSettledGone()
    this.#log.compactOnUnload()
  }

  /**
   * Runs a merge of the document's updates. Validation should let no update
   * in that a merge cannot handle; if one got in anyway, the document is
   * refused (4503) rather than crash the relay or be served half.
   */
  #guard<T>(merge: () => T): T | undefined {
    try {
      return merge()
    } catch (error) {
      this.#fail('the relay could not merge the updates of this document', error)
      return undefined
    }
  }

  #fail(reason: string, error: unknown): void {
    if (error instanceof DocumentDeletedError) return this.deleted()
    if (this.#status === 'gone') return
    this.options.logger.error({ doc: this.name, err: error }, reason)
    this.#refuseEveryone('documentUnavailable', reason)
  }

  /** The document was deleted: every peer is told (4404), and the room is gone. */
  deleted(): void {
    if (this.#status === 'gone') return
    this.options.logger.info({ doc: this.name }, 'document deleted')
    this.#refuseEveryone('documentDeleted', 'the document was deleted')
  }

  /**
   * Another relay says it deleted the document. Believed only once the store shows the tombstone:
   * a native client drops its copy on 4404, so Redis alone must not be able to make it.
   */
  applyRemoteDeletion(): void {
    if (this.#status === 'gone') return
    this.options.store.load(this.name).then(
      () => this.options.logger.warn({ doc: this.name }, 'told of a deletion the store does not show: ignored'),
      (error: unknown) => {
        if (error instanceof DocumentDeletedError) this.deleted()
        else this.options.logger.warn({ doc: this.name, err: error }, 'could not check a deletion in the store')
      },
    )
  }

  #refuseEveryone(code: CloseCodeName, reason: string): void {
    this.#gone()
    const peers = [...this.#peers]
    this.#peers.clear()
    for (const peer of peers) peer.refuse(code, reason)
  }

  #gone(): void {
    if (this.#status === 'gone') return
    this.#status = 'gone'
    this.#link?.leave()
    clearTimeout(this.#unloadTimer)
    this.#step1Answers.clear()
    this.#loadingQueue.drop(() => true, 'the document is no longer served')
    this.options.onGone(this)
  }
}
