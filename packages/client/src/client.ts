/**
 * Owns a client: one connection to the relay shared by every open document,
 * one device store, one channel to the other tabs, and the handles of the
 * open documents, with frames routed to the handle they name.
 */
import { closeCodes, documentNameProblem, type NativeFrame } from '@concord/protocol'
import { ObservableV2 } from 'lib0/observable'
import { ConcordError } from './errors.js'
import { DocHandle, type RelayLink } from './docHandle.js'
import { IndexedDbLocalStore } from './indexedDbLocalStore.js'
import type { LocalStore } from './localStore.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import { RelayConnection, type RelayConnectionOptions } from './relayConnection.js'
import type { ConnectionStatus } from './syncStatus.js'
import { TabChannel } from './tabChannel.js'
import { yWebsocketWire, type Wire } from './wire.js'

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
   * `concord` (default): the native protocol, every document over one socket,
   * with durable acks. `y-websocket`: for a stock y-websocket server, one
   * socket per document (`url/<id>`) and no acks, so an update stops being
   * pending once it was written to an open socket, which says nothing about
   * whether the server stored it.
   */
  readonly protocol?: 'concord' | 'y-websocket'
}

export interface ClientEvents {
  /** Any error: from the relay (by close-code name), from the device store, or from a document. */
  error: (error: ConcordError) => void
  status: (status: ConnectionStatus) => void
}

interface OpenHandle {
  readonly handle: DocHandle
  readonly unsubscribeTabs: () => void
  /** In y-websocket mode, the document's own connection. */
  readonly connection?: RelayConnection
}

const defaultStore = (name: string): Promise<LocalStore> =>
  typeof indexedDB === 'undefined' ? Promise.resolve(new MemoryLocalStore()) : IndexedDbLocalStore.open(name)

export class ConcordClient extends ObservableV2<ClientEvents> {
  readonly #options: ClientOptions
  /** The shared connection of the native protocol; undefined in y-websocket mode. */
  readonly #connection: RelayConnection | undefined
  readonly #store: Promise<LocalStore>
  readonly #tabs: TabChannel | undefined
  readonly #open = new Map<string, OpenHandle>()
  #destroyed = false

  constructor(options: ClientOptions) {
    super()
    this.#options = options
    const name = options.name ?? 'concord'
    this.#store = options.store ? Promise.resolve(options.store) : defaultStore(name)
    this.#store.catch((error: unknown) => {
      this.emit('error', [
        new ConcordError('store', 'the device store could not be opened', undefined, { cause: error }),
      ])
    })
    this.#tabs = (options.shareAcrossTabs ?? TabChannel.available) ? new TabChannel(name) : undefined
    globalThis.addEventListener?.('pagehide', this.#onPageHide)
    if (options.protocol === 'y-websocket') return
    const connection = (this.#connection = this.#connect(options.url))
    connection.on('status', (status) => {
      for (const { handle } of this.#open.values()) handle.connectionChanged(status)
      this.emit('status', [status])
    })
    connection.on('frame', (frame) => {
      if (frame.doc === '' && frame.type === 'error') {
        this.emit('error', [ConcordError.fromRelay(frame.code, frame.reason)])
        return
      }
      this.#open.get(frame.doc)?.handle.receive(frame)
    })
    connection.connect()
  }

  /**
   * The connection to the relay: `offline`, `connecting` or `open`. In
   * y-websocket mode, where each document has its own, the best of them.
   */
  get status(): ConnectionStatus {
    if (this.#connection) return this.#connection.status
    const statuses = new Set([...this.#open.values()].map(({ connection }) => connection?.status))
    return statuses.has('open') ? 'open' : statuses.has('connecting') ? 'connecting' : 'offline'
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
    // In y-websocket mode the document gets its own socket, at the path stock providers use.
    const connection =
      this.#connection ?? this.#connect(`${this.#options.url.replace(/\/$/, '')}/${id}`, yWebsocketWire(id), id)
    const handle = new DocHandle({
      id,
      store: this.#store,
      link: this.#connection ?? acknowledgingWhatIsSent(connection, (frame) => handle.receive(frame)),
      tabs: this.#tabs,
      onClose: () => {
        this.#open.get(id)?.unsubscribeTabs()
        if (!this.#connection) connection.destroy()
        this.#open.delete(id)
      },
    })
    handle.on('error', (error) => this.emit('error', [error]))
    const unsubscribeTabs = this.#tabs?.subscribe(id, (kind, data) => handle.receiveFromTab(kind, data)) ?? (() => {})
    if (this.#connection) {
      this.#open.set(id, { handle, unsubscribeTabs })
    } else {
      this.#open.set(id, { handle, unsubscribeTabs, connection })
      connection.on('status', (status) => {
        handle.connectionChanged(status)
        this.emit('status', [this.status])
      })
      connection.on('frame', (frame) => handle.receive(frame))
      connection.connect()
    }
    handle.connectionChanged(connection.status)
    return handle
  }

  /** Closes every document, waits for what they were storing, then closes the connection and the store. */
  override async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    globalThis.removeEventListener?.('pagehide', this.#onPageHide)
    const handles = [...this.#open.values()].map(({ handle }) => handle)
    for (const handle of handles) handle.close()
    await Promise.all(handles.map((handle) => handle.flushed()))
    this.#connection?.destroy()
    this.#tabs?.close()
    await this.#store.then((store) => store.close()).catch(() => {})
    super.destroy()
  }

  #connect(url: string, wire?: Wire, doc?: string): RelayConnection {
    const { auth, WebSocket } = this.#options
    const token = typeof auth === 'string' ? () => auth : auth
    const connection = new RelayConnection({ ...this.#options.connection, url, WebSocket, wire, token })
    connection.on('error', (error) => {
      this.emit('error', [new ConcordError(error.code, error.message, doc, { cause: error })])
    })
    connection.on('close', ({ code, reason }) => {
      if (code !== closeCodes.unauthenticated && code !== closeCodes.forbidden) return
      this.emit('error', [ConcordError.fromRelay(code, reason, doc)])
      // A y-websocket server refuses a document by closing its socket: do not knock again.
      if (code === closeCodes.forbidden) connection.disconnect()
    })
    return connection
  }

  readonly #onPageHide = (): void => {
    // The tab may never run again: tell the others it left.
    for (const { handle } of this.#open.values()) handle.awareness.setLocalState(null)
  }
}

/**
 * A y-websocket server sends no acks: the link acknowledges each sync frame
 * as soon as it was written to an open socket, so `pending` counts what has
 * not reached the network.
 */
const acknowledgingWhatIsSent = (connection: RelayConnection, deliver: (frame: NativeFrame) => void): RelayLink => ({
  get status() {
    return connection.status
  },
  send(frame) {
    const sent = connection.send(frame)
    if (sent && frame.type === 'sync' && frame.seq > 0) {
      queueMicrotask(() => deliver({ type: 'ack', doc: frame.doc, seq: frame.seq }))
    }
    return sent
  },
})

export const createClient = (options: ClientOptions): ConcordClient => new ConcordClient(options)
