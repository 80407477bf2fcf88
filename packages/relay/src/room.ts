/**
 * Owns one loaded document on the relay: who is in it, its content in
 * memory, its presence, and its writes to the store. Updates are validated,
 * forwarded as the same bytes to the other peers at once, and appended to
 * the store; the promise a write returns resolves once it is durable. A room
 * that cannot load or store its document refuses every peer rather than
 * serve a blank, and is dropped so that the next peer loads it afresh.
 */
import {
  decodeAwarenessUpdate,
  encodeNativeFrame,
  encodeYWebsocketMessage,
  ProtocolError,
  type CloseCodeName,
  type SyncMessage,
} from '@concord/protocol'
import { admitUpdate, type AdmittedUpdate } from './admitUpdate.js'
import type { DocStore } from './docStore.js'
import { DocumentState } from './documentState.js'
import type { Fanout, FanoutLink, FanoutMember } from './fanout.js'
import { KnownClocks } from './knownClocks.js'
import type { Logger } from './logger.js'
import { Presence } from './presence.js'
import { inspectUpdate, mergeUpdates } from './yjsUpdates.js'
import * as Y from 'yjs'

export type WireMode = 'y-websocket' | 'native'

/** One connection's membership in a room, as the room sees it. */
export interface RoomPeer {
  readonly mode: WireMode
  /** Sends one frame, already encoded for this peer's wire mode and document. */
  send(frame: Uint8Array): void
  /** The room can no longer serve its document; the peer is out of the room when this is called. */
  refuse(code: CloseCodeName, reason: string): void
  /** False for read-only access: the room then drops every update and sync step 2 the peer sends. */
  readonly canWrite: boolean
  /**
   * Another peer claims the presence of a client this peer introduced: check
   * that this one is still connected, and drop it if it does not answer.
   */
  probe?(): void
}

export type RoomMessage =
  | { readonly type: 'sync'; readonly sync: SyncMessage }
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'queryAwareness' }

type OutgoingMessage = Exclude<RoomMessage, { type: 'queryAwareness' }>

/**
 * What became of one sync message, once it is settled. `durable`: what it
 * carries is in the store, or was there already (a repeat, a step 1, an empty
 * update), and so is everything the room stored before it. `dropped`: the
 * peer may only read, so nothing of it was kept. `refused`: it is invalid,
 * contradicts what the document holds, or no Yjs document could integrate
 * it; nothing of it was kept or forwarded, and the document stays open.
 */
export type SyncOutcome =
  | { readonly kind: 'durable' }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'refused'; readonly code: CloseCodeName; readonly reason: string }

const durable: SyncOutcome = { kind: 'durable' }
const dropped: SyncOutcome = { kind: 'dropped' }

export interface RoomOptions {
  readonly store: DocStore
  readonly logger: Logger
  /** Compact the stored log once this many updates were stored since the last compaction. */
  readonly compactAfterUpdates: number
  /** Unload the document this long after its last peer left. */
  readonly unloadAfterMs: number
  /** Drop an awareness state longer than this, in UTF-8 bytes. */
  readonly maxAwarenessStateBytes: number
  /** Messages one peer may send while the document loads; one more is refused (4429). */
  readonly maxWaitingFrames: number
  /** Called once when the room is gone (unloaded, failed or closed): the registry forgets it. */
  readonly onGone: (room: Room) => void
  /** Cluster mode: the other relays serving this document. */
  readonly fanout?: Fanout | undefined
}

interface QueuedMessage {
  readonly peer: RoomPeer
  readonly message: RoomMessage
  readonly resolve: (outcome: SyncOutcome | undefined) => void
  readonly reject: (error: unknown) => void
}

const encodeFor = (mode: WireMode, doc: string, message: OutgoingMessage): Uint8Array => {
  if (mode === 'y-websocket') return encodeYWebsocketMessage(message)
  return encodeNativeFrame(message.type === 'sync' ? { ...message, doc, seq: 0 } : { ...message, doc })
}

export class Room implements FanoutMember {
  readonly #peers = new Set<RoomPeer>()
  /** Owned by a local peer, or by another relay (cluster mode). */
  readonly #presence: Presence<RoomPeer | RemoteRelay>
  #status: 'loading' | 'ready' | 'gone' = 'loading'
  #state: DocumentState | undefined
  #knownClocks: KnownClocks | undefined
  #queued: QueuedMessage[] = []
  /** How many of `#queued` each peer sent. */
  readonly #queuedBy = new Map<RoomPeer, number>()
  #lastWrite: Promise<void> = Promise.resolve()
  #pendingWrites = 0
  #storedSinceCompaction = 0
  #storedBytesSinceCompaction = 0
  #compaction: Promise<void> | undefined
  #unloadTimer: NodeJS.Timeout | undefined
  readonly #link: FanoutLink | undefined
  readonly #remoteRelays = new Map<string, RemoteRelay>()
  /** Updates from other relays that arrived while the document was loading. */
  #remoteWhileLoading: Uint8Array[] = []
  #resync: { running: boolean; again: boolean } = { running: false, again: false }

  constructor(
    readonly name: string,
    private readonly options: RoomOptions,
  ) {
    this.#presence = new Presence(options.maxAwarenessStateBytes)
    this.#link = options.fanout?.join(name, this)
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
    const removal = this.#presence.removeOwnedBy(peer)
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
    if (this.#status === 'loading') {
      const waiting = this.#queuedBy.get(peer) ?? 0
      if (waiting >= this.options.maxWaitingFrames) {
        return Promise.reject(new ProtocolError('rateLimited', 'too many messages wait for the document to load'))
      }
      this.#queuedBy.set(peer, waiting + 1)
      return new Promise<SyncOutcome | undefined>((resolve, reject) =>
        this.#queued.push({ peer, message, resolve, reject }),
      )
    }
    if (this.#status === 'gone' || !this.#peers.has(peer)) return undefined
    switch (message.type) {
      case 'sync':
        return this.#receiveSync(peer, message.sync)
      case 'awareness': {
        const update = this.#presence.apply(peer, message.update, (owner) => {
          if (!(owner instanceof RemoteRelay)) owner.probe?.()
        })
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

  applyRemote(update: Uint8Array): void {
    if (this.#status === 'gone') return
    try {
      if (inspectUpdate(update).empty) return
    } catch (error) {
      this.options.logger.warn({ doc: this.name, err: error }, 'dropped an update from another relay')
      return
    }
    if (this.#status === 'loading') {
      this.#remoteWhileLoading.push(update)
      return
    }
    this.#addRemote(update)
  }

  applyRemoteAwareness(relayId: string, update: Uint8Array): void {
    if (this.#status === 'gone') return
    let owner = this.#remoteRelays.get(relayId)
    if (!owner) this.#remoteRelays.set(relayId, (owner = new RemoteRelay(relayId)))
    try {
      const accepted = this.#presence.apply(owner, update)
      if (accepted) this.#broadcast({ type: 'awareness', update: accepted })
    } catch (error) {
      this.options.logger.warn({ doc: this.name, relayId, err: error }, 'dropped presence from another relay')
    }
  }

  removeRelay(relayId: string): void {
    const owner = this.#remoteRelays.get(relayId)
    if (!owner || this.#status === 'gone') return
    this.#remoteRelays.delete(relayId)
    const removal = this.#presence.removeOwnedBy(owner)
    if (!removal) return
    this.#broadcast({ type: 'awareness', update: removal })
    // It may hand a client to one of our peers that claimed it (see Presence): the other relays must
    // hear of that; each of them removes the dead relay's clients on its own.
    if (decodeAwarenessUpdate(removal).some(({ state }) => state !== 'null')) this.#link?.publishAwareness(removal)
  }

  localPresence(): Uint8Array | undefined {
    return this.#presence.snapshot((owner) => !(owner instanceof RemoteRelay))
  }

  /** Reloads the document from the store and sends the peers what the room did not have. */
  resync(): void {
    if (this.#resync.running) {
      this.#resync.again = true
      return
    }
    // A loading room reads the store anyway.
    if (this.#status !== 'ready') return
    this.#resync.running = true
    this.options.store
      .load(this.name)
      .then(
        (stored) => {
          if (this.#status !== 'ready' || stored.length === 0) return
          const missing = this.#guard(() => Y.diffUpdate(mergeUpdates(stored), this.#state!.stateVector()))
          if (missing && this.#guard(() => inspectUpdate(missing, true).empty) === false) this.#addRemote(missing)
        },
        (error: unknown) => this.options.logger.warn({ doc: this.name, err: error }, 'resync from the store failed'),
      )
      .finally(() => {
        this.#resync.running = false
        if (this.#resync.again) {
          this.#resync.again = false
          this.resync()
        }
      })
  }

  #addRemote(received: Uint8Array): void {
    const state = this.#state!
    let update = received
    // Once the room tracks its clocks (after a local write), news must keep them up to date.
    const known = this.#knownClocks
    if (known) {
      let admitted: AdmittedUpdate | undefined
      try {
        admitted = admitUpdate(received, known, () => this.#guard(() => state.merge()))
      } catch (error) {
        // Another relay admitted content that contradicts content this one admitted at the same time.
        this.options.logger.warn({ doc: this.name, err: error }, 'dropped an update from another relay')
        return
      }
      if (!admitted) return
      known.add(admitted.ranges)
      update = admitted.update
    }
    if (state.add(update)) setImmediate(() => this.#status === 'ready' && this.#guard(() => state.merge()))
    this.#broadcast({ type: 'sync', sync: { type: 'update', update } })
  }

  /** Stops serving (peers are the caller's to close) and resolves once every write has settled. */
  async close(): Promise<void> {
    this.#gone()
    await this.#settled()
  }

  #receiveSync(peer: RoomPeer, sync: SyncMessage): Promise<SyncOutcome> | undefined {
    const state = this.#state!
    if (sync.type === 'step1') {
      // Merge first, so that a corrupt document is not blamed on this peer's state vector.
      if (!this.#guard(() => state.merge())) return undefined
      let update: Uint8Array
      try {
        update = state.diff(sync.stateVector)
      } catch (error) {
        throw new ProtocolError('malformedMessage', 'the state vector does not decode', { cause: error })
      }
      peer.send(encodeFor(peer.mode, this.name, { type: 'sync', sync: { type: 'step2', update } }))
      return this.#afterLastWrite()
    }
    // Read-only: never stored, never forwarded, never acknowledged.
    if (!peer.canWrite) return Promise.resolve(dropped)
    // Learnt at the first write, so that a document only read never decodes its whole state.
    const known = (this.#knownClocks ??= this.#guard(() => new KnownClocks(inspectUpdate(state.merge(), true).ranges)))
    if (!known) return undefined
    let admitted: AdmittedUpdate | undefined
    try {
      admitted = admitUpdate(
        sync.update,
        known,
        () => this.#guard(() => state.merge()),
        () => state.recent(),
      )
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== 'invalidUpdate') throw error
      return Promise.resolve({ kind: 'refused', code: error.code, reason: error.message })
    }
    // The merge that admission needed failed: the room refused every peer.
    if (this.#status === 'gone') return undefined
    if (!admitted) return this.#afterLastWrite()
    const { update, ranges } = admitted
    known.add(ranges)
    if (state.add(update)) setImmediate(() => this.#status === 'ready' && this.#guard(() => state.merge()))
    this.#broadcast({ type: 'sync', sync: { type: 'update', update } }, peer)
    return this.#write(update).then(() => durable)
  }

  /** Durable once everything stored before it is; a failed write refuses the peers instead. */
  #afterLastWrite(): Promise<SyncOutcome> {
    return this.#lastWrite.then(() => durable)
  }

  #write(update: Uint8Array): Promise<void> {
    this.#pendingWrites++
    const write = this.options.store.append(this.name, update)
    this.#lastWrite = write
    write.then(
      () => {
        this.#pendingWrites--
        // Durable now: other relays that miss this message find the update in the store.
        this.#link?.publishUpdate(update)
        this.#storedBytesSinceCompaction += update.byteLength
        // A compaction re-merges the whole document (see DocumentState): wait for a quarter of it too.
        if (
          ++this.#storedSinceCompaction >= this.options.compactAfterUpdates &&
          this.#storedBytesSinceCompaction >= (this.#state?.mergedBytes ?? 0) / 4
        ) {
          this.#compact()
        }
      },
      (error: unknown) => {
        this.#pendingWrites--
        this.#fail('the relay could not store an update of this document', error)
      },
    )
    return write
  }

  async #load(): Promise<void> {
    let stored: Uint8Array[]
    try {
      // Subscribed first: every update stored after the load starts then arrives as news.
      await this.#link?.ready
      stored = await this.options.store.load(this.name)
      if (this.#status !== 'loading') return
      this.#state = new DocumentState([...stored, ...this.#remoteWhileLoading])
      this.#remoteWhileLoading = []
    } catch (error) {
      this.#fail('the relay could not load this document', error)
      return
    }
    this.#status = 'ready'
    this.#storedSinceCompaction = stored.length
    this.#storedBytesSinceCompaction = stored.reduce((bytes, update) => bytes + update.byteLength, 0)
    this.options.logger.debug({ doc: this.name, storedUpdates: stored.length }, 'document loaded')
    for (const peer of this.#peers) this.#greet(peer)
    const queued = this.#queued
    this.#queued = []
    this.#queuedBy.clear()
    for (const { peer, message, resolve, reject } of queued) {
      try {
        const outcome = this.receive(peer, message)
        // A dropped or refused frame resolves with what became of it, never as if it were durable.
        if (outcome) outcome.then(resolve, reject)
        else resolve(undefined)
      } catch (error) {
        reject(error)
      }
    }
    if (stored.length >= this.options.compactAfterUpdates) this.#compact()
    if (this.#peers.size === 0) this.#scheduleUnload()
  }

  /** The relay's sync step 1, and who is here. */
  #greet(peer: RoomPeer): void {
    const stateVector = this.#guard(() => this.#state!.stateVector())
    if (!stateVector) return
    peer.send(encodeFor(peer.mode, this.name, { type: 'sync', sync: { type: 'step1', stateVector } }))
    const snapshot = this.#presence.snapshot()
    if (snapshot) peer.send(encodeFor(peer.mode, this.name, { type: 'awareness', update: snapshot }))
  }

  #broadcast(message: OutgoingMessage, except?: RoomPeer): void {
    // Encode once per wire mode, not once per peer.
    let yWebsocketFrame: Uint8Array | undefined
    let nativeFrame: Uint8Array | undefined
    for (const peer of this.#peers) {
      if (peer === except) continue
      if (peer.mode === 'native') peer.send((nativeFrame ??= encodeFor('native', this.name, message)))
      else peer.send((yWebsocketFrame ??= encodeFor('y-websocket', this.name, message)))
    }
  }

  #compact(): void {
    if (this.#compaction || this.#status === 'gone') return
    this.#storedSinceCompaction = this.#storedBytesSinceCompaction = 0
    this.#compaction = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.options.store.compact(this.name, mergeUpdates))
      .then(
        (merged) => this.options.logger.debug({ doc: this.name, merged }, 'document log compacted'),
        // The log is intact when compaction fails (it is one transaction); the next one retries.
        (error: unknown) => this.options.logger.warn({ doc: this.name, err: error }, 'compaction failed'),
      )
      .finally(() => (this.#compaction = undefined))
  }

  #scheduleUnload(): void {
    clearTimeout(this.#unloadTimer)
    this.#unloadTimer = setTimeout(() => void this.#unloadIfIdle(), this.options.unloadAfterMs)
    this.#unloadTimer.unref()
  }

  async #unloadIfIdle(): Promise<void> {
    await this.#settled()
    if (this.#status !== 'ready' || this.#peers.size > 0) return
    this.#gone()
    this.options.logger.debug({ doc: this.name }, 'document unloaded')
    // Leave a single row behind, so the next load reads one update.
    if (this.#storedSinceCompaction > 1) {
      this.options.store.compact(this.name, mergeUpdates).catch((error: unknown) => {
        this.options.logger.warn({ doc: this.name, err: error }, 'compaction on unload failed')
      })
    }
  }

  /** Resolves once no write or compaction is in flight. */
  async #settled(): Promise<void> {
    while (this.#pendingWrites > 0 || this.#compaction) {
      await Promise.allSettled([this.#lastWrite, this.#compaction])
    }
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
    if (this.#status === 'gone') return
    this.options.logger.error({ doc: this.name, err: error }, reason)
    this.#gone()
    const peers = [...this.#peers]
    this.#peers.clear()
    for (const peer of peers) peer.refuse('documentUnavailable', reason)
  }

  #gone(): void {
    if (this.#status === 'gone') return
    this.#status = 'gone'
    this.#link?.leave()
    clearTimeout(this.#unloadTimer)
    const queued = this.#queued
    this.#queued = []
    this.#queuedBy.clear()
    for (const { reject } of queued) reject(new Error(`document "${this.name}" is no longer served`))
    this.options.onGone(this)
  }
}

/** Owner of the presence that came from the clients of another relay. */
class RemoteRelay {
  constructor(readonly id: string) {}
}
