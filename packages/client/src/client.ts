/**
 * Owns a client: one connection to the relay shared by every open document,
 * one device store, one channel to the other tabs, and the open documents,
 * with frames routed to the document they name. It also owns what outlives a
 * handle: the writes a closed handle had not finished, which the next handle
 * of the same document waits for and takes over, and which `destroy()`
 * waits for; and the page's lifecycle (presence on pagehide and pageshow).
 */
import { closeCodes, documentNameProblem } from '@concord/protocol/core'
import { ObservableV2 } from 'lib0/observable'
import * as Y from 'yjs'
import { warnBeforeUnload } from './beforeUnload.js'
import { ConcordError } from './errors.js'
import { openDocument, type DocHandle, type OpenedDocument } from './docHandle.js'
import { DocumentSocket } from './documentSocket.js'
import { startFork } from './forkStart.js'
import type { TakenClocks } from './docSync.js'
import { IndexedDbLocalStore } from './indexedDbLocalStore.js'
import type { LocalStore } from './localStore.js'
import { fromStore } from './origins.js'
import { memoryStoreFallback } from '#memoryStoreFallback'
import type { HistoryHost } from './historyHost.js'
import { checkedWebSocket, RelayConnection, type RelayConnectionOptions } from './relayConnection.js'
import type { ConnectionStatus } from './syncStatus.js'
import { TabChannel } from './tabChannel.js'
import { nativeWire, type PerDocumentWire, type Wire } from './wire.js'

export interface ClientOptions {
  /** The relay, e.g. `ws://127.0.0.1:8787`. */
  readonly url: string
  /** Where documents are kept on this device. Default: IndexedDB where there is one, else memory. */
  readonly store?: LocalStore
  /**
   * Credentials for the relay: a token, or a function that returns one (asked
   * again before every connection, so after a refusal or an expiry (4401) it
   * can hand out a fresh one; the same token is not tried again).
   */
  readonly auth?: string | (() => string | Promise<string>)
  /** Names the IndexedDB database and the channel between tabs. Default: `concord`. */
  readonly name?: string
  /** The WebSocket constructor. Default: `globalThis.WebSocket`; on Node 20 pass the one from `ws`. */
  readonly WebSocket?: RelayConnectionOptions['WebSocket']
  /** Share updates and presence with other tabs that use the same name. Default: where BroadcastChannel exists. */
  readonly shareAcrossTabs?: boolean
  /** Heartbeat and backoff settings of the connection. */
  readonly connection?: Omit<RelayConnectionOptions, 'url' | 'WebSocket' | 'wire' | 'token'>
  /**
   * `native` (default): the native protocol (`concord.v3`), every document over one socket,
   * with durable acks. `y-websocket`: for a stock y-websocket server, one
   * socket per document (`url/<id>`) and no acks, so an update stops being
   * pending once it was written to an open socket, which says nothing about
   * whether the server stored it. Its code loads with `import()` when a document
   * first connects; `wire: yWebsocketWire()` (below) is the same with the code up front.
   */
  readonly protocol?: 'native' | 'y-websocket'
  /**
   * A wire of a socket per document, instead of the native protocol: `yWebsocketWire()` from
   * `@concord/client/y-websocket` is `protocol: 'y-websocket'` imported explicitly, so a bundler
   * puts it with the app's code. Given, it wins over `protocol`.
   */
  readonly wire?: PerDocumentWire
  /**
   * Connect to the relay. Default true; false keeps every document on this
   * device (and its other tabs) only, e.g. to measure or test local loading.
   */
  readonly connect?: boolean
  /**
   * Where `pagehide` and `pageshow` come from: presence is withdrawn when the
   * page hides and announced again when the back/forward cache restores it.
   * Default: `globalThis` where it has `addEventListener` (browsers).
   */
  readonly page?: PageEvents
  /**
   * Ask the browser to warn before the page unloads while an edit is not yet
   * stored on this device or not yet durable on the relay (`beforeunload`,
   * like y-sweet's `warnOnClose`). Default false. See also `warnBeforeUnload`.
   */
  readonly warnOnClose?: boolean
  /**
   * Keep the device's copy of a document the relay deleted (it is no longer
   * synced either way). Default false: the copy is removed when the relay
   * says the document was deleted (4404).
   */
  readonly keepDeletedDocuments?: boolean
}

/** The part of `window` the client listens to for the page's lifecycle. */
export interface PageEvents {
  addEventListener(type: 'pagehide' | 'pageshow', listener: (event: { readonly persisted?: boolean }) => void): void
  removeEventListener(type: 'pagehide' | 'pageshow', listener: (event: { readonly persisted?: boolean }) => void): void
}

export interface ClientEvents {
  /** Any error: from the relay (by close-code name), from the device store, or from a document. */
  error: (error: ConcordError) => void
  status: (status: ConnectionStatus) => void
}

interface OpenHandle extends OpenedDocument {
  readonly unsubscribeTabs: () => void
  /** In y-websocket mode, the document's own socket. */
  readonly socket?: DocumentSocket
}

/**
 * IndexedDB where there is one. Without it, memory: quietly on Node, where
 * that is the norm; in a page, as a store that is unavailable, so the app is
 * told that nothing it does is kept on the device.
 */
const defaultStore = (name: string): Promise<LocalStore> => {
  if (typeof indexedDB !== 'undefined') return IndexedDbLocalStore.open(name)
  if (typeof document === 'undefined') return memoryStoreFallback()
  return Promise.reject(new Error('this page has no IndexedDB'))
}

const defaultPage = (): PageEvents | undefined => {
  const scope = globalThis as Partial<PageEvents>
  return typeof scope.addEventListener === 'function' ? (scope as PageEvents) : undefined
}

export class ConcordClient extends ObservableV2<ClientEvents> {
  readonly #options: ClientOptions
  /** The shared connection of the native protocol; undefined with a wire of a socket per document. */
  readonly #connection: RelayConnection | undefined
  /** What version history plugs into on the shared connection; undefined without one. */
  readonly #history: HistoryHost | undefined
  /** The wire of a socket per document (y-websocket), or how to load it; undefined with the shared connection. */
  readonly #perDocument: PerDocumentWire | (() => Promise<PerDocumentWire>) | undefined
  /** yWebsocket.ts's wire for `protocol: 'y-websocket'`, loading or loaded; forgotten if it failed, to try again. */
  #yWebsocketWire: Promise<PerDocumentWire> | undefined
  readonly #store: Promise<LocalStore>
  readonly #tabs: TabChannel | undefined
  readonly #open = new Map<string, OpenHandle>()
  /**
   * Per document, what its last closed handle hands over once its writes are
   * done: the edits it could not store. The next handle of the document loads
   * after it and takes them; `destroy()` waits for the rest.
   */
  readonly #handovers = new Map<string, Promise<readonly Uint8Array[]>>()
  /** Per document whose closed handle's writes are not done yet, that handle's doc state: the next handle starts from it. */
  readonly #seeds = new Map<string, Uint8Array>()
  /**
   * Per document closed on the shared connection, a round trip begun right
   * after its `close`: the next handle opens on the relay once it is over, so
   * no ack or error of the old opening still on its way is taken for its own.
   */
  readonly #leftOnRelay = new Map<string, Promise<void>>()
  /**
   * Documents whose fork (clockFork.ts) is under way: it resolves with the
   * edits it could not give the handle because the handle closed meanwhile.
   */
  readonly #forking = new Map<string, Promise<readonly Uint8Array[]>>()
  readonly #page: PageEvents | undefined
  /** The presence each handle had when the page hid, to announce again if the page comes back. */
  readonly #presenceBeforeHide = new Map<DocHandle, Record<string, unknown>>()
  /** Closed handles whose writes are not finished yet. */
  #closingWrites = 0
  #stopWarning: (() => void) | undefined
  #destroyed = false

  constructor(options: ClientOptions) {
    super()
    this.#options = options
    const name = options.name ?? 'concord'
    this.#store = options.store ? Promise.resolve(options.store) : defaultStore(name)
    this.#store.catch((error: unknown) => {
      this.emit('error', [
        new ConcordError(
          'storeUnavailable',
          'the device store could not be opened: documents live in memory and on the relay only',
          undefined,
          { cause: error },
        ),
      ])
    })
    this.#tabs = (options.shareAcrossTabs ?? TabChannel.available) ? new TabChannel(name) : undefined
    this.#page = options.page ?? defaultPage()
    this.#page?.addEventListener('pagehide', this.#onPageHide)
    this.#page?.addEventListener('pageshow', this.#onPageShow)
    if (options.warnOnClose) this.#stopWarning = warnBeforeUnload(this)
    if (options.wire) {
      this.#perDocument = options.wire
      return
    }
    if (options.protocol === 'y-websocket') {
      this.#perDocument = this.#loadYWebsocketWire
      return
    }
    const wire = nativeWire()
    const connection = (this.#connection = this.#connect(options.url, wire))
    const history: HistoryHost = (this.#history = {
      wire,
      listener: undefined,
      get subprotocol() {
        return connection.subprotocol
      },
      send: (frame) => connection.send(frame),
    })
    connection.on('close', () => history.listener?.connectionLost())
    connection.on('status', (status) => {
      for (const { sync } of this.#open.values()) sync.connectionChanged(status)
      this.emit('status', [status])
    })
    connection.on('frame', (frame) => {
      if (frame.doc === '' && frame.type === 'error') {
        this.emit('error', [ConcordError.fromRelay(frame.code, frame.reason)])
        return
      }
      if (frame.type === 'answer' || frame.type === 'failed') return history.listener?.receive(frame)
      this.#open.get(frame.doc)?.sync.receive(frame)
    })
    if (options.connect !== false) connection.connect()
  }

  /**
   * The connection to the relay: `offline`, `connecting` or `open`. In
   * y-websocket mode, where each document has its own, the best of them.
   */
  get status(): ConnectionStatus {
    if (this.#connection) return this.#connection.status
    const statuses = new Set([...this.#open.values()].map(({ socket }) => socket?.status))
    return statuses.has('open') ? 'open' : statuses.has('connecting') ? 'connecting' : 'offline'
  }

  /**
   * Whether leaving the page now could lose or delay an edit: one of an open
   * document is not yet stored on this device (or its write failed), or not
   * yet acknowledged by the relay, or a closed document is still being written.
   */
  get hasUnsyncedEdits(): boolean {
    if (this.#closingWrites > 0) return true
    for (const { handle } of this.#open.values()) if (handle.unsynced) return true
    return false
  }

  /**
   * The handle of document `id`, opened if it is not open yet: the same
   * handle for the same id until it is closed. Throws a ConcordError with code
   * `invalidDocumentName` for a name the relay would refuse.
   */
  open(id: string): DocHandle {
    if (this.#destroyed) throw new ConcordError('closed', 'the client was destroyed')
    const problem = documentNameProblem(id)
    if (problem) throw new ConcordError('invalidDocumentName', problem, id)
    const open = this.#open.get(id)
    if (open) return open.handle
    // With a wire of a socket per document (y-websocket), the document gets its own.
    const socket = this.#connection ? undefined : this.#documentSocket(id)
    // Whatever a closed handle of this document still writes, this one loads after, and takes over.
    const after = this.#handovers.get(id)
    this.#handovers.delete(id)
    const seed = this.#seeds.get(id)
    this.#seeds.delete(id)
    const openAfter = this.#leftOnRelay.get(id)
    this.#leftOnRelay.delete(id)
    const opened: OpenedDocument = openDocument({
      id,
      store: this.#store,
      link: this.#connection ?? socket!,
      tabs: this.#tabs,
      after,
      seed,
      openAfter,
      reopenBackoff: this.#options.connection?.backoff,
      history: this.#history,
      keepDeletedDocuments: this.#options.keepDeletedDocuments,
      clocksTaken: this.#connection ? (taken) => this.#fork(id, taken) : undefined,
      onClose: (closedLog) => {
        // Closed during a fork: the fork's writes to the store, and the edits it could not give the
        // handle, come first; the handle's doc is the old one, which must not seed a new handle.
        const forking = this.#forking.get(id)
        const handover = forking
          ? Promise.all([closedLog, forking]).then(([unsaved, leftovers]) => [...unsaved, ...leftovers])
          : closedLog
        const open = this.#open.get(id)
        if (open?.handle !== opened.handle) return
        open?.unsubscribeTabs()
        socket?.destroy()
        this.#open.delete(id)
        this.#presenceBeforeHide.delete(open!.handle)
        // A deleted document hands nothing on: a new handle of it must not bring its content back.
        const seed = opened.handle.deleted || forking ? undefined : Y.encodeStateAsUpdate(opened.handle.doc)
        if (seed || forking) this.#handovers.set(id, handover)
        if (seed) this.#seeds.set(id, seed)
        if (this.#connection) {
          const left = this.#connection.roundTrip()
          this.#leftOnRelay.set(id, left)
          void left.then(() => this.#leftOnRelay.get(id) === left && this.#leftOnRelay.delete(id))
        }
        this.#closingWrites++
        void handover.then((unsaved) => {
          this.#closingWrites--
          // Once the writes are done, the store has it all: a later handle loads it from there.
          if (this.#seeds.get(id) === seed) this.#seeds.delete(id)
          if (unsaved.length === 0 && this.#handovers.get(id) === handover) this.#handovers.delete(id)
        })
      },
    })
    const { handle, sync, receiveFromTab } = opened
    handle.on('error', (error) => {
      // The client reported a missing store once already, for every document.
      if (error.code !== 'storeUnavailable') this.emit('error', [error])
    })
    const unsubscribeTabs = this.#tabs?.subscribe(id, receiveFromTab) ?? (() => {})
    if (!socket) {
      this.#open.set(id, { ...opened, unsubscribeTabs })
    } else {
      this.#open.set(id, { ...opened, unsubscribeTabs, socket })
      socket.start({
        receive: (frame) => sync.receive(frame),
        statusChanged: (status) => {
          sync.connectionChanged(status)
          this.emit('status', [this.status])
        },
        failed: (error) => this.emit('error', [error]),
      })
    }
    sync.connectionChanged((this.#connection ?? socket!).status)
    return handle
  }

  /**
   * Closes every document, waits for every write they and the documents
   * closed before made, then closes the connection and the store. Rejects
   * with a ConcordError `notSaved` (also sent as an `error` event) when edits
   * remain that neither the device store took nor the relay acknowledged:
   * the app may still have them, nothing else does.
   */
  override async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#page?.removeEventListener('pagehide', this.#onPageHide)
    this.#page?.removeEventListener('pageshow', this.#onPageShow)
    this.#stopWarning?.()
    for (const { handle } of [...this.#open.values()]) void handle.close()
    const handovers = [...this.#handovers]
    const unsaved = await Promise.all(
      handovers.map(async ([id, handover]) => ({ id, count: (await handover.catch(() => [])).length })),
    )
    this.#connection?.destroy()
    this.#tabs?.close()
    await this.#store.then((store) => store.close()).catch(() => {})
    const lost = unsaved.filter(({ count }) => count > 0)
    const error =
      lost.length > 0
        ? new ConcordError(
            'notSaved',
            `${lost.reduce((total, { count }) => total + count, 0)} edits of ${lost.map(({ id }) => `"${id}"`).join(', ')} are neither on this device nor on the relay`,
          )
        : undefined
    // Before the listeners go.
    if (error) this.emit('error', [error])
    super.destroy()
    if (error) throw error
  }

  /**
   * Another writer took clocks of document `id` that this device wrote: the
   * handle forks to a new Y.Doc with its edits under a new client id (see
   * clockFork.ts), reopened on the shared connection once the relay has read
   * the old opening's `close`.
   */
  #fork(id: string, taken: TakenClocks): void {
    const open = this.#open.get(id)
    const connection = this.#connection
    if (!open || !connection || this.#forking.has(id)) return
    const { handle } = open
    let leftovers: readonly Uint8Array[] = []
    const reopen = (
      seed: readonly Uint8Array[],
      handover: readonly Uint8Array[],
      presence: Record<string, unknown> | null,
    ): boolean => {
      const current = this.#open.get(id)
      if (current?.handle !== handle) {
        // Closed meanwhile: the store holds the moved edits; the next handle takes over the rest (see onClose).
        leftovers = handover
        return false
      }
      // Made here, not in clockFork.ts: a lazy chunk that imports origins.ts splits it into a chunk of its own up front.
      const doc = new Y.Doc()
      Y.transact(doc, () => seed.forEach((update) => Y.applyUpdate(doc, update, fromStore)), fromStore)
      current.unsubscribeTabs()
      const opened = openDocument({
        id,
        store: this.#store,
        link: connection,
        tabs: this.#tabs,
        after: Promise.resolve(handover),
        openAfter: connection.roundTrip(),
        reopenBackoff: this.#options.connection?.backoff,
        history: this.#history,
        keepDeletedDocuments: this.#options.keepDeletedDocuments,
        clocksTaken: (next) => this.#fork(id, next),
        // The handle keeps the close it was made with.
        onClose: () => {},
        fork: { doc, handle, presence },
      })
      const unsubscribeTabs = this.#tabs?.subscribe(id, opened.receiveFromTab) ?? (() => {})
      this.#open.set(id, { ...opened, unsubscribeTabs })
      opened.sync.connectionChanged(connection.status)
      return true
    }
    // The fork's code loads when a fork first runs; what must happen at once does (forkStart.ts).
    const start = startFork(handle, open.sync)
    const forked = import('./clockFork.js')
      .then(({ forkDocument }) => forkDocument({ id, handle, log: open.log, start, taken, reopen }))
      .catch((cause: unknown) => {
        handle.reportError(new ConcordError('clocksTaken', `the fork of "${id}" failed`, id, { cause }))
      })
      .then(() => leftovers)
    this.#forking.set(id, forked)
    void forked.then(() => this.#forking.get(id) === forked && this.#forking.delete(id))
  }

  /** The socket of document `id`, with a wire of a socket per document. */
  #documentSocket(id: string): DocumentSocket {
    const wire = this.#perDocument!
    // What the connection would throw at once (no WebSocket, bad heartbeats), it throws before its wire loads too.
    if (typeof wire === 'function')
      checkedWebSocket({ ...this.#options.connection, WebSocket: this.#options.WebSocket })
    return new DocumentSocket({
      doc: id,
      url: this.#options.url,
      wire,
      connection: (url, frames) => this.#connect(url, frames, id),
      connect: this.#options.connect !== false,
    })
  }

  readonly #loadYWebsocketWire = (): Promise<PerDocumentWire> => {
    if (!this.#yWebsocketWire) {
      const loading = import('./yWebsocket.js').then(({ yWebsocketWire }) => yWebsocketWire())
      // A failed load is not kept: the next document to connect tries again.
      loading.catch(() => this.#yWebsocketWire === loading && (this.#yWebsocketWire = undefined))
      this.#yWebsocketWire = loading
    }
    return this.#yWebsocketWire
  }

  #connect(url: string, wire?: Wire, doc?: string): RelayConnection {
    const { auth, WebSocket } = this.#options
    const token = typeof auth === 'string' ? () => auth : auth
    const connection = new RelayConnection({ ...this.#options.connection, url, WebSocket, wire, token })
    connection.on('error', (error) => {
      this.emit('error', [new ConcordError(error.code, error.message, doc, { cause: error })])
    })
    connection.on('close', ({ code, reason }) => {
      // A y-websocket socket refused an update (4422): with no refused frames, the app learns it only from
      // this (a squat's victim cannot fork there, see clockFork.ts).
      if (doc !== undefined && code === closeCodes.invalidUpdate) {
        this.emit('error', [ConcordError.fromRelay(code, reason, doc)])
        return
      }
      if (code !== closeCodes.unauthenticated && code !== closeCodes.forbidden) return
      this.emit('error', [ConcordError.fromRelay(code, reason, doc)])
      // A y-websocket server refuses a document by closing its socket: do not knock again.
      if (code === closeCodes.forbidden) connection.disconnect()
    })
    return connection
  }

  readonly #onPageHide = (): void => {
    // The tab may never run again: tell the others it left.
    for (const { handle } of this.#open.values()) {
      const state = handle.awareness.getLocalState()
      if (state !== null) this.#presenceBeforeHide.set(handle, state)
      handle.awareness.setLocalState(null)
    }
  }

  readonly #onPageShow = (event: { readonly persisted?: boolean }): void => {
    // Restored from the back/forward cache: the page runs again, so it is here again.
    if (!event.persisted) return
    for (const { handle } of this.#open.values()) {
      const state = this.#presenceBeforeHide.get(handle)
      if (state && handle.awareness.getLocalState() === null) handle.awareness.setLocalState(state)
    }
    this.#presenceBeforeHide.clear()
  }
}

export const createClient = (options: ClientOptions): ConcordClient => new ConcordClient(options)
