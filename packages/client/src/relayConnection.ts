/**
 * Owns the one WebSocket between a client and its relay in native mode
 * (`concord.v2`): opening it, reopening it with backoff after any close,
 * heartbeats that find a dead socket, and following the device's online and
 * offline events. Frames go out through `send` and come in through the
 * `frame` event; which document a frame belongs to is the caller's business.
 *
 * Status, derived from the current socket alone:
 *
 *   offline     no socket: not connecting, the device is offline, or waiting
 *               out the backoff delay before the next attempt
 *   connecting  a socket is opening
 *   open        the relay accepted the socket and selected `concord.v3` or `concord.v2`
 *
 * The backoff starts over once a connection has stayed open for
 * `heartbeatIntervalMs`, not on its first frame: a relay that accepts and
 * then drops every connection (a crash loop, a refusal) would otherwise be
 * retried at the shortest delay forever.
 */
import { closeCodes, ProtocolError, type NativeFrame } from '@concord/protocol/core'
import { ObservableV2 } from 'lib0/observable'
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.js'
import { ConnectionError } from './errors.js'
import type { ConnectionStatus } from './syncStatus.js'
import { nativeWire, type Wire } from './wire.js'

/**
 * The code of the `close` event when heartbeats found the socket dead; it is
 * also sent to the relay in case the socket still carries anything. Concord's
 * own, after HTTP 408 (Request Timeout) like the codes in `closeCodes`, but
 * local: the relay never sends it, so it is not in that table.
 */
export const heartbeatTimeoutCloseCode = 4408

/** The part of a WebSocket this connection uses: the DOM's WebSocket and the `ws` package's both fit. */
export interface WebSocketLike {
  binaryType: string
  /** The subprotocol the server selected. */
  readonly protocol: string
  send(data: Uint8Array): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open' | 'error', listener: () => void): void
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void
  removeEventListener(type: 'open' | 'error', listener: () => void): void
  removeEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void
  removeEventListener(
    type: 'close',
    listener: (event: { readonly code: number; readonly reason: string }) => void,
  ): void
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** Where `online` and `offline` events come from: `window` in a browser. */
export interface NetworkEnvironment {
  addEventListener(type: 'online' | 'offline', listener: () => void): void
  removeEventListener(type: 'online' | 'offline', listener: () => void): void
  readonly navigator?: { readonly onLine?: boolean } | undefined
}

export interface RelayConnectionOptions {
  /** The relay, e.g. `wss://relay.example`. */
  readonly url: string
  /** Default: `globalThis.WebSocket`. Node 20 has none: pass `WebSocket` from the `ws` package. */
  readonly WebSocket?: WebSocketConstructor | undefined
  readonly backoff?: BackoffOptions | undefined
  /** Send a `ping` when nothing has arrived for this long. Default 10 s. */
  readonly heartbeatIntervalMs?: number | undefined
  /** Drop the socket when nothing has arrived for this long. Default 30 s; must exceed the interval. */
  readonly heartbeatTimeoutMs?: number | undefined
  /** Default: `globalThis` where it has `addEventListener` (browsers); none on Node. */
  readonly environment?: NetworkEnvironment | undefined
  /** How frames look on the socket. Default: the native protocol, `concord.v3` or `concord.v2`. */
  readonly wire?: Wire | undefined
  /**
   * Where credentials come from; asked before every connection attempt. A
   * token the relay refused (4401) is not tried again: the connection waits,
   * asking with backoff, until this gives a different one.
   */
  readonly token?: (() => string | undefined | Promise<string | undefined>) | undefined
}

export interface RelayConnectionEvents {
  status: (status: ConnectionStatus) => void
  /** Every frame from the relay but `pong`s, which only prove the socket alive. */
  frame: (frame: NativeFrame) => void
  /** One per socket, whoever closed it or however its attempt failed. */
  close: (event: { code: number; reason: string }) => void
  error: (error: ConnectionError) => void
}

/** The current socket and what the heartbeat knows about it; times are `performance.now()`. */
interface LiveSocket {
  readonly socket: WebSocketLike
  /** The credentials this socket was opened with. */
  readonly token: string | undefined
  readonly detach: () => void
  /** When the relay accepted it; undefined while it is opening. */
  openedAt: number | undefined
  lastReceivedAt: number
  lastPingAt: number
  /** The first ping sent since the last frame arrived. */
  unansweredPingAt: number | undefined
}

type Timer = ReturnType<typeof setTimeout>

const ignore = (): void => {}

const defaultEnvironment = (): NetworkEnvironment | undefined => {
  const scope = globalThis as Partial<NetworkEnvironment>
  return typeof scope.addEventListener === 'function' ? (scope as NetworkEnvironment) : undefined
}

const bytesOf = (data: unknown): Uint8Array | undefined => {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return undefined
}

/**
 * The WebSocket constructor a connection with these options uses; throws, as the constructor does,
 * when there is none or the heartbeat settings are wrong. The client checks with it up front where
 * it makes a connection only later (a y-websocket document whose wire is still loading).
 */
export const checkedWebSocket = ({
  WebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
  heartbeatIntervalMs = 10_000,
  heartbeatTimeoutMs = 30_000,
}: Omit<RelayConnectionOptions, 'url'>): WebSocketConstructor => {
  if (!WebSocket) {
    throw new ConnectionError(
      'noWebSocket',
      'this environment has no WebSocket: pass one, e.g. `WebSocket` from the `ws` package on Node 20',
    )
  }
  if (!(heartbeatIntervalMs > 0 && heartbeatTimeoutMs > heartbeatIntervalMs)) {
    throw new RangeError('heartbeatTimeoutMs must exceed heartbeatIntervalMs, and both be positive')
  }
  return WebSocket
}

export class RelayConnection extends ObservableV2<RelayConnectionEvents> {
  readonly #url: string
  readonly #WebSocket: WebSocketConstructor
  readonly #backoff: Backoff
  readonly #heartbeatIntervalMs: number
  readonly #heartbeatTimeoutMs: number
  readonly #environment: NetworkEnvironment | undefined
  readonly #wire: Wire
  readonly #tokenSource: (() => string | undefined | Promise<string | undefined>) | undefined
  #fetchingToken = false
  /** The last token the relay refused with 4401. */
  #refusedToken: string | undefined

  #live: LiveSocket | undefined
  #reportedStatus: ConnectionStatus = 'offline'
  /** Between `connect()` and `disconnect()`. */
  #wanted = false
  #destroyed = false
  /** The environment said `offline` (or `navigator.onLine` was false at `connect()`) and not `online` since. */
  #deviceOffline = false
  #retryTimer: Timer | undefined
  #heartbeatTimer: Timer | undefined
  #lastPingId = 0
  /** Round trips waiting for the pong of their ping, by ping id. */
  readonly #roundTrips = new Map<number, () => void>()

  constructor(options: RelayConnectionOptions) {
    super()
    const {
      url,
      WebSocket,
      backoff,
      heartbeatIntervalMs = 10_000,
      heartbeatTimeoutMs = 30_000,
      environment = defaultEnvironment(),
      wire = nativeWire(),
      token,
    } = { ...options, WebSocket: checkedWebSocket(options) }
    this.#url = url
    this.#WebSocket = WebSocket
    this.#backoff = createBackoff(backoff)
    this.#heartbeatIntervalMs = heartbeatIntervalMs
    this.#heartbeatTimeoutMs = heartbeatTimeoutMs
    this.#environment = environment
    this.#wire = wire
    this.#tokenSource = token
  }

  get status(): ConnectionStatus {
    if (!this.#live) return 'offline'
    return this.#live.openedAt === undefined ? 'connecting' : 'open'
  }

  /** Starts connecting, and keeps reconnecting until `disconnect()`. Does nothing if already started. */
  connect(): void {
    if (this.#wanted || this.#destroyed) return
    this.#wanted = true
    this.#environment?.addEventListener('online', this.#onOnline)
    this.#environment?.addEventListener('offline', this.#onOffline)
    this.#deviceOffline = this.#environment?.navigator?.onLine === false
    if (!this.#deviceOffline) this.#openSocket()
  }

  /** Closes the socket (1000) and stops reconnecting until the next `connect()`. */
  disconnect(): void {
    if (!this.#wanted) return
    this.#wanted = false
    this.#environment?.removeEventListener('online', this.#onOnline)
    this.#environment?.removeEventListener('offline', this.#onOffline)
    this.#stopRetrying()
    if (this.#live) this.#drop(this.#live, closeCodes.normal, 'disconnected')
  }

  /** The subprotocol the open socket selected (`concord.v3` or `concord.v2`); undefined while none is open. */
  get subprotocol(): string | undefined {
    const live = this.#live
    return live?.openedAt === undefined ? undefined : live.socket.protocol
  }

  /**
   * Sends a frame if the socket is open; returns false, and never throws, when
   * it is not. A frame the wire has no bytes for (an `open` on a y-websocket
   * socket) needs nothing sent, and counts as sent.
   */
  send(frame: NativeFrame): boolean {
    const live = this.#live
    if (live?.openedAt === undefined) return false
    try {
      const bytes = this.#wire.encode(frame)
      if (bytes) live.socket.send(bytes)
      return true
    } catch {
      return false
    }
  }

  /**
   * Resolves once the relay has answered a ping sent now: by then every frame
   * it sent before it read the frames sent before this call has arrived (one
   * socket keeps order both ways). Resolves at once when the socket is not
   * open, and when it closes first, since nothing more comes over it then.
   */
  roundTrip(): Promise<void> {
    if (this.#live?.openedAt === undefined || !this.#wire.canPing) return Promise.resolve()
    const id = ++this.#lastPingId
    const done = new Promise<void>((resolve) => this.#roundTrips.set(id, resolve))
    if (!this.send({ type: 'ping', doc: '', id })) this.#endRoundTrips()
    return done
  }

  #endRoundTrips(): void {
    for (const resolve of this.#roundTrips.values()) resolve()
    this.#roundTrips.clear()
  }

  override destroy(): void {
    this.disconnect()
    this.#destroyed = true
    super.destroy()
  }

  #openSocket(): void {
    if (!this.#tokenSource) {
      this.#openSocketWith(undefined)
      return
    }
    if (this.#fetchingToken) return
    this.#fetchingToken = true
    const source = this.#tokenSource
    void Promise.resolve()
      .then(source)
      .then(
        (token) => {
          this.#fetchingToken = false
          if (!this.#wanted || this.#live || this.#deviceOffline) return
          if (token !== undefined && token === this.#refusedToken) this.#retryLater()
          else this.#openSocketWith(token)
        },
        (error: unknown) => {
          this.#fetchingToken = false
          this.emit('error', [new ConnectionError('tokenFailed', 'the token source failed', { cause: error })])
          this.#retryLater()
        },
      )
  }

  #openSocketWith(token: string | undefined): void {
    const url =
      token !== undefined && this.#wire.tokenIn === 'query'
        ? `${this.#url}${this.#url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`
        : this.#url
    let socket: WebSocketLike
    try {
      const offered = this.#wire.subprotocols
      socket = offered.length === 0 ? new this.#WebSocket(url) : new this.#WebSocket(url, [...offered])
      socket.binaryType = 'arraybuffer'
    } catch (error) {
      this.emit('error', [
        new ConnectionError('connectFailed', `could not open a WebSocket to ${this.#url}`, { cause: error }),
      ])
      this.#retryLater()
      return
    }
    const onOpen = (): void => this.#opened(live)
    const onMessage = ({ data }: { readonly data: unknown }): void => this.#received(live, data)
    const onClose = ({ code, reason }: { readonly code: number; readonly reason: string }): void => {
      live.detach()
      this.#ended(live, code, reason)
    }
    const live: LiveSocket = {
      socket,
      token,
      detach: () => {
        socket.removeEventListener('open', onOpen)
        socket.removeEventListener('message', onMessage)
        socket.removeEventListener('close', onClose)
      },
      openedAt: undefined,
      lastReceivedAt: 0,
      lastPingAt: 0,
      unansweredPingAt: undefined,
    }
    socket.addEventListener('open', onOpen)
    socket.addEventListener('message', onMessage)
    socket.addEventListener('close', onClose)
    // Never removed: `ws` throws on an 'error' event nobody listens to, and may emit one after we let go
    // of the socket. A 'close' event always follows an error, so there is nothing to do here.
    socket.addEventListener('error', ignore)
    this.#live = live
    this.#reportStatus()
  }

  #opened(live: LiveSocket): void {
    const offered = this.#wire.subprotocols
    if (offered.length > 0 && !offered.includes(live.socket.protocol)) {
      const selected = live.socket.protocol || 'none'
      const required = offered.join(' or ')
      this.emit('error', [
        new ConnectionError(
          'unsupportedProtocol',
          `${this.#url} did not select the ${required} subprotocol (selected: ${selected})`,
        ),
      ])
      this.#drop(live, closeCodes.normal, `${required} is required`)
      return
    }
    const now = performance.now()
    live.openedAt = live.lastReceivedAt = live.lastPingAt = now
    // Credentials first, before any frame of the documents that open on 'open'.
    if (live.token !== undefined && this.#wire.tokenIn === 'frame')
      this.send({ type: 'auth', doc: '', token: live.token })
    this.#checkHeartbeat(live)
    this.#reportStatus()
  }

  #received(live: LiveSocket, data: unknown): void {
    live.lastReceivedAt = performance.now()
    live.unansweredPingAt = undefined
    let frame: NativeFrame
    try {
      const bytes = bytesOf(data)
      if (!bytes) throw new ProtocolError('malformedMessage', 'a text frame: the protocol is binary only')
      frame = this.#wire.decode(bytes, live.socket.protocol)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      this.emit('error', [new ConnectionError('malformedMessage', error.message, { cause: error })])
      // A fixed reason: a close reason may not exceed 123 bytes, and the decoder's message can.
      this.#drop(live, closeCodes.malformedMessage, 'undecodable frame')
      return
    }
    if (frame.type === 'pong') {
      this.#roundTrips.get(frame.id)?.()
      this.#roundTrips.delete(frame.id)
      return
    }
    if (frame.type === 'ping') this.send({ type: 'pong', doc: '', id: frame.id })
    this.emit('frame', [frame])
  }

  /**
   * Pings after `heartbeatIntervalMs` of silence, and drops the socket once
   * pings have gone unanswered for the rest of `heartbeatTimeoutMs`. Counting
   * from the first unanswered ping, not from the last frame, means a timer
   * that a background tab's throttling delayed cannot call a live socket dead
   * without asking it first.
   */
  #checkHeartbeat(live: LiveSocket): void {
    const now = performance.now()
    if (!this.#wire.canPing) {
      // Without pings, only silence tells; y-websocket servers echo the awareness renewal every 15 s.
      const silentMs = now - live.lastReceivedAt
      if (silentMs >= this.#heartbeatTimeoutMs) this.#drop(live, heartbeatTimeoutCloseCode, 'heartbeat timeout')
      else
        this.#heartbeatTimer = setTimeout(
          () => this.#checkHeartbeat(live),
          Math.ceil(this.#heartbeatTimeoutMs - silentMs),
        )
      return
    }
    const answerWindowMs = this.#heartbeatTimeoutMs - this.#heartbeatIntervalMs
    if (live.unansweredPingAt !== undefined && now - live.unansweredPingAt >= answerWindowMs) {
      this.#drop(live, heartbeatTimeoutCloseCode, 'heartbeat timeout')
      return
    }
    if (now - Math.max(live.lastReceivedAt, live.lastPingAt) >= this.#heartbeatIntervalMs) {
      live.lastPingAt = now
      live.unansweredPingAt ??= now
      this.send({ type: 'ping', doc: '', id: ++this.#lastPingId })
    }
    const nextPingAt = Math.max(live.lastReceivedAt, live.lastPingAt) + this.#heartbeatIntervalMs
    const deadAt = live.unansweredPingAt === undefined ? Infinity : live.unansweredPingAt + answerWindowMs
    // Frames do not move this timer; when it fires it reads what arrived since.
    this.#heartbeatTimer = setTimeout(() => this.#checkHeartbeat(live), Math.ceil(Math.min(nextPingAt, deadAt) - now))
  }

  /**
   * Lets go of a socket at once: a dead TCP connection may take a long time
   * to finish closing, and nothing it does after this matters.
   */
  #drop(live: LiveSocket, code: number, reason: string): void {
    if (this.#live !== live) return
    live.detach()
    try {
      live.socket.close(code, reason)
    } catch {
      // Already closing: nothing more to ask of it.
    }
    this.#ended(live, code, reason)
  }

  #ended(live: LiveSocket, code: number, reason: string): void {
    if (this.#live !== live) return
    this.#live = undefined
    this.#endRoundTrips()
    clearTimeout(this.#heartbeatTimer)
    this.#heartbeatTimer = undefined
    if (code === closeCodes.unauthenticated) this.#refusedToken = live.token
    if (live.openedAt !== undefined && performance.now() - live.openedAt >= this.#heartbeatIntervalMs) {
      this.#backoff.reset()
    }
    this.#reportStatus()
    this.emit('close', [{ code, reason }])
    this.#retryLater()
  }

  #retryLater(): void {
    if (!this.#wanted || this.#deviceOffline || this.#live || this.#retryTimer !== undefined) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#openSocket()
    }, this.#backoff.next())
  }

  #stopRetrying(): void {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
  }

  #reportStatus(): void {
    const status = this.status
    if (status === this.#reportedStatus) return
    this.#reportedStatus = status
    this.emit('status', [status])
  }

  readonly #onOnline = (): void => {
    this.#deviceOffline = false
    if (this.#live) return
    this.#stopRetrying()
    this.#backoff.reset()
    this.#openSocket()
  }

  readonly #onOffline = (): void => {
    this.#deviceOffline = true
    this.#stopRetrying()
    if (this.#live) this.#drop(this.#live, closeCodes.normal, 'the device went offline')
  }
}
