/**
 * Owns the relay as a library: accepts WebSocket upgrades from any node:http
 * server, picks the wire mode from the subprotocol, keeps the registry of
 * loaded documents, runs the heartbeat, and shuts everything down in order.
 */
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { closeCodeName, closeCodes, documentNameProblem, nativeSubprotocol, ProtocolError } from '@concord/protocol'
import { WebSocketServer, type WebSocket } from 'ws'
import { allowEveryone, atExpiry, authorize, type Authenticate } from './auth.js'
import { clientAddressResolver, normalizeAddress } from './clientAddress.js'
import type { DocStore } from './docStore.js'
import type { Fanout } from './fanout.js'
import { silentLogger, type Logger } from './logger.js'
import { NativeConnection } from './nativeConnection.js'
import { observedStore, type RelayObserver } from './relayObserver.js'
import { RelaySocket } from './relaySocket.js'
import { Room } from './room.js'
import { SocketGate } from './socketGate.js'
import { TokenBucket } from './tokenBucket.js'
import { YWebsocketConnection } from './yWebsocketConnection.js'

export interface RelayOptions {
  /** Where documents are stored. The relay never closes it: close it after `relay.close()`. */
  readonly store: DocStore
  /**
   * Cluster mode: how this relay hears of the updates and presence that other
   * relays serving the same documents receive (a RedisFanout). The store must
   * then be shared by all of them (a PostgresDocStore). The relay never closes
   * it: close it after `relay.close()`. Default: none, the relay serves alone.
   */
  readonly fanout?: Fanout
  /** Pino, or anything with its `debug`/`info`/`warn`/`error`. Default: silent. */
  readonly logger?: Logger
  /** Told about connections, traffic, stored updates, store failures and ack latency, for metrics. Default: none. */
  readonly observer?: RelayObserver
  /** The largest frame accepted; a larger one closes its connection with 1009. Default: 16 MiB. */
  readonly maxPayload?: number
  /** A connection with more unsent bytes than this is not reading and is closed with 4508. Default: 32 MiB. */
  readonly maxBufferedBytes?: number
  /** How often every connection is pinged; one that has not answered the previous ping is dropped. Default: 30 s. */
  readonly heartbeatIntervalMs?: number
  /** How long a document stays loaded after its last connection left. Default: 10 s. */
  readonly unloadAfterMs?: number
  /** Compact a document's stored log after this many stored updates. Default: 200. */
  readonly compactAfterUpdates?: number
  /**
   * Each connection's budget: messages and bytes per second, with bursts.
   * Over it, the relay stops reading from that socket until the budget
   * refills, so the sender is slowed by TCP backpressure. Default: 200
   * messages/s (burst 1,000) and 8 MiB/s (burst: maxPayload).
   */
  readonly rateLimit?: Partial<RateLimit>
  /**
   * Addresses of reverse proxies whose X-Forwarded-For is believed: a
   * connection from one of them counts as the address it names, for the
   * per-address limit and the logs. Default: none (the header is ignored).
   */
  readonly trustedProxies?: readonly string[]
  /**
   * Connections from one IP address beyond this many are refused (HTTP 429). On an attached server a
   * socket counts from the moment it is accepted, before its request is read, so half-sent upgrades
   * count too; with `handleUpgrade` alone, from its upgrade. Default: 256.
   */
  readonly maxConnectionsPerIp?: number
  /**
   * A socket of the attached server that has not sent a whole request head (an upgrade or any other
   * HTTP request) this long after it was accepted is closed. Default: 5 s.
   */
  readonly headersTimeoutMs?: number
  /**
   * The most sockets the attached server holds at once, HTTP and WebSocket (its `maxConnections`);
   * one more is closed as soon as it is accepted. Default: the server's own cap if it has one, else
   * below the process's file-descriptor limit (see `defaultMaxSockets`).
   */
  readonly maxSockets?: number
  /** A native connection may have this many documents open; one more gets an error frame (4429). Default: 256. */
  readonly maxDocumentsPerConnection?: number
  /**
   * Frames waiting for an authorization answer, per connection, and frames waiting for a document to
   * load, per connection and document; one more closes the connection (4429). Default: 256.
   */
  readonly maxWaitingFrames?: number
  /**
   * When set, a browser's upgrade from any other Origin is refused (HTTP 403).
   * Requests without an Origin header (clients that are not browsers) pass:
   * Origin only protects browsers from pages of other sites.
   */
  readonly allowedOrigins?: readonly string[]
  /** An awareness (presence) state longer than this, in UTF-8 bytes, is dropped. Default: 1 KiB. */
  readonly maxAwarenessStateBytes?: number
  /**
   * When a connection claims the presence of a client id that another
   * connection owns (a client that reconnected while its old socket looks
   * open), the owner is pinged, and dropped if nothing comes back within
   * this; the claim then takes its place. Default: 5 s.
   */
  readonly presenceProbeTimeoutMs?: number
  /** Decides what each connection may do with each document. Default: everyone may write everything. */
  readonly authenticate?: Authenticate
  /**
   * Accept a token as the `token` query parameter in y-websocket mode, where stock
   * clients have no other way to send one (it may end up in proxy logs). Default: true.
   */
  readonly queryTokens?: boolean
}

export interface RateLimit {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerSecond: number
  /** Default: maxPayload, so that one frame of the largest size can always pass. */
  readonly byteBurst: number
}

export interface RelayStats {
  readonly connections: number
  readonly documents: number
}

export interface Relay {
  /** Serves WebSocket upgrades on `server`: every upgrade request is the relay's. */
  attach(server: Server): void
  /** Serves one upgrade request, for servers that route upgrades themselves. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  stats(): RelayStats
  /**
   * Refuses new connections, closes every connection with 1001, and resolves
   * once every accepted update is durable and every socket is closed. Idempotent.
   */
  close(): Promise<void>
}

export const relayDefaults = {
  maxPayload: 16 * 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  unloadAfterMs: 10_000,
  compactAfterUpdates: 200,
  queryTokens: true,
  maxAwarenessStateBytes: 1024,
  presenceProbeTimeoutMs: 5_000,
  maxConnectionsPerIp: 256,
  headersTimeoutMs: 5_000,
  trustedProxies: [],
  maxDocumentsPerConnection: 256,
  maxWaitingFrames: 256,
  rateLimit: { messagesPerSecond: 200, messageBurst: 1000, bytesPerSecond: 8 * 1024 * 1024 },
} as const

type Connection = YWebsocketConnection | NativeConnection

/** The `token` query parameter: in y-websocket mode, stock clients have no other way to send one. */
const tokenFromUrl = (url: string | undefined): string | undefined => {
  const query = (url ?? '').split('?', 2)[1]
  return query === undefined ? undefined : (new URLSearchParams(query).get('token') ?? undefined)
}

/**
 * The document a y-websocket client asks for: its URL path after the first
 * slash, up to any query, percent-decoded and taken literally. (A URL parser
 * would read `//team/notes`, which a provider for room `/team/notes` asks for,
 * as host `team` and path `/notes`, and would fold `..` segments.)
 */
const documentFromUrl = (url: string | undefined): string => {
  const path = (url ?? '/').split('?', 1)[0]!
  try {
    return decodeURIComponent(path.slice(1))
  } catch (error) {
    throw new ProtocolError('invalidDocumentName', 'the document name is not valid percent-encoded UTF-8', {
      cause: error,
    })
  }
}

export const createRelay = (options: RelayOptions): Relay => {
  const settings = { ...relayDefaults, ...options }
  const logger = options.logger ?? silentLogger
  const observer = options.observer ?? {}
  const store = observedStore(options.store, observer)
  const authenticate = options.authenticate ?? allowEveryone
  const rateLimit: RateLimit = {
    ...relayDefaults.rateLimit,
    byteBurst: Math.max(settings.maxPayload, options.rateLimit?.bytesPerSecond ?? 0),
    ...options.rateLimit,
  }
  const ipOf = clientAddressResolver(settings.trustedProxies)
  const trustedProxies = new Set(settings.trustedProxies.map(normalizeAddress))
  const gate = new SocketGate({
    maxConnectionsPerIp: settings.maxConnectionsPerIp,
    headersTimeoutMs: settings.headersTimeoutMs,
    maxSockets: options.maxSockets,
    isTrustedProxy: (address) => trustedProxies.has(address),
    normalize: normalizeAddress,
    logger,
  })
  const rooms = new Map<string, Room>()
  const sockets = new Set<RelaySocket>()
  let closing: Promise<void> | undefined

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxPayload,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(nativeSubprotocol) ? nativeSubprotocol : false),
  })

  const acquireRoom = (doc: string): Room => {
    let room = rooms.get(doc)
    if (!room) {
      room = new Room(doc, {
        store,
        logger,
        compactAfterUpdates: settings.compactAfterUpdates,
        unloadAfterMs: settings.unloadAfterMs,
        maxAwarenessStateBytes: settings.maxAwarenessStateBytes,
        maxWaitingFrames: settings.maxWaitingFrames,
        onGone: (gone) => rooms.get(gone.name) === gone && rooms.delete(gone.name),
        fanout: options.fanout,
      })
      rooms.set(doc, room)
    }
    return room
  }

  const heartbeat = setInterval(() => {
    for (const socket of sockets) {
      if (!socket.alive) {
        socket.terminate('no answer to the heartbeat')
        continue
      }
      socket.alive = false
      socket.ws.ping()
    }
  }, settings.heartbeatIntervalMs)
  heartbeat.unref()

  /** The connection's open line: who (address, Origin), which wire mode, and in y-websocket mode which document. */
  const opened = (socket: RelaySocket): void => {
    observer.connectionOpened?.(socket.mode)
    logger.info(socket.logFields, 'connection opened')
  }

  /** The connection's close line: code, reason, who closed, how long it lasted, what went through it. */
  const logClosed = (socket: RelaySocket, connection: Connection | undefined, code: number, reason: string): void => {
    const by = socket.closedWith ? 'relay' : 'client'
    const closeCode = socket.closedWith?.code ?? code
    observer.connectionClosed?.(socket.mode, closeCode, by)
    const fields = {
      ...socket.logFields,
      code: closeCode,
      codeName: closeCodeName(closeCode),
      reason: socket.closedWith?.reason ?? reason,
      by,
      durationMs: Date.now() - socket.openedAt,
      ...socket.traffic,
      ...(connection instanceof NativeConnection && {
        docs: connection.openedDocuments.names,
        docsOpened: connection.openedDocuments.count,
      }),
    }
    const routine = by === 'client' || closeCode === closeCodes.normal || closeCode === closeCodes.goingAway
    logger[routine ? 'info' : 'warn'](fields, 'connection closed')
  }

  const accept = (ws: WebSocket, request: IncomingMessage): void => {
    const mode = ws.protocol === nativeSubprotocol ? 'native' : 'y-websocket'
    const ip = ipOf(request)
    const origin = request.headers.origin
    const socket = new RelaySocket(
      ws,
      mode,
      { ip, ...(origin !== undefined && { origin }) },
      {
        ...settings,
        logger,
        observer,
      },
    )
    sockets.add(socket)
    // Counted already when its socket was accepted, unless it came through a trusted proxy or handleUpgrade alone.
    gate.count(request.socket, ip)
    const messageBudget = new TokenBucket(rateLimit.messagesPerSecond, rateLimit.messageBurst)
    const byteBudget = new TokenBucket(rateLimit.bytesPerSecond, rateLimit.byteBurst)
    let connection: Connection | undefined

    ws.on('error', (error) => logger.warn({ ...socket.logFields, err: error }, 'connection error'))
    ws.on('close', (code, reason) => {
      sockets.delete(socket)
      connection?.closed()
      logClosed(socket, connection, code, reason.toString())
    })
    // Frames that arrive while a y-websocket connection is being authorized wait here.
    let early: Buffer[] | undefined = []
    const receive = (bytes: Buffer): void => {
      try {
        connection!.receive(bytes)
      } catch (error) {
        if (error instanceof ProtocolError) {
          socket.close(error.code, error.message)
        } else {
          logger.error({ ...socket.logFields, err: error }, 'unexpected error while handling a frame')
          socket.close('internalError', 'unexpected error in the relay')
        }
      }
    }
    ws.on('message', (data, isBinary) => {
      socket.received((data as Buffer).length)
      socket.alive = true
      if (!socket.isOpen) return
      if (!isBinary) {
        socket.close('unsupportedData', 'text frames are not part of the protocol; send binary frames')
        return
      }
      const overBudgetMs = Math.max(messageBudget.take(1), byteBudget.take((data as Buffer).length))
      if (overBudgetMs > 0 && !ws.isPaused) {
        // Stop reading until the budget refills: the sender is slowed by TCP backpressure.
        logger.debug({ ...socket.logFields, pausedMs: overBudgetMs }, 'over its rate limit: throttling')
        ws.pause()
        setTimeout(() => ws.resume(), overBudgetMs).unref()
      }
      if (connection) receive(data as Buffer)
      else if (early && early.length < settings.maxWaitingFrames) early.push(data as Buffer)
      else socket.close('rateLimited', 'too many frames before the connection was authorized')
    })

    if (mode === 'native') {
      connection = new NativeConnection({
        socket,
        request,
        acquireRoom,
        authenticate,
        logger,
        observer,
        maxDocuments: settings.maxDocumentsPerConnection,
        maxWaitingFrames: settings.maxWaitingFrames,
      })
      opened(socket)
      return
    }
    let doc: string
    try {
      doc = documentFromUrl(request.url)
      const problem = documentNameProblem(doc)
      if (problem) throw new ProtocolError('invalidDocumentName', problem)
    } catch (error) {
      const { code, message } = error as ProtocolError
      opened(socket)
      socket.close(code, message)
      return
    }
    socket.logFields.doc = doc
    opened(socket)
    const token = settings.queryTokens ? tokenFromUrl(request.url) : undefined
    authorize(authenticate, request, doc, token, logger)
      .then((result) => {
        if (!socket.isOpen) return
        if ('denied' in result) {
          socket.close(result.denied, result.reason)
          return
        }
        connection = new YWebsocketConnection(socket, acquireRoom(doc), result.access)
        if (result.expiresAt !== undefined) {
          ws.once(
            'close',
            atExpiry(result.expiresAt, () => socket.close('unauthenticated', 'the token expired')),
          )
        }
        logger.debug({ ...socket.logFields, access: result.access }, 'connection authorized')
        for (const bytes of early!.splice(0)) if (socket.isOpen) receive(bytes)
        early = undefined
      })
      .catch((error: unknown) => {
        logger.error({ ...socket.logFields, err: error }, 'could not set up a connection')
        socket.close('internalError', 'unexpected error in the relay')
      })
  }

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: string, reason: string): void => {
      logger.info({ ip: ipOf(request), origin: request.headers.origin, status }, reason)
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    gate.headersArrived(socket)
    if (gate.isRefused(socket)) return
    if (closing) return refuse('503 Service Unavailable', 'upgrade refused: shutting down')
    const origin = request.headers.origin
    if (settings.allowedOrigins && origin !== undefined && !settings.allowedOrigins.includes(origin)) {
      return refuse('403 Forbidden', 'upgrade refused: Origin not allowed')
    }
    if (!gate.isCounted(socket) && !gate.hasRoomFor(ipOf(request))) {
      return refuse('429 Too Many Requests', 'upgrade refused: too many connections from this address')
    }
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, request))
  }

  const close = async (): Promise<void> => {
    clearInterval(heartbeat)
    // Not events.once: that rejects on an 'error' event, and a socket may fail while it closes.
    const closed = [...sockets].map((socket) => new Promise((resolve) => socket.ws.once('close', resolve)))
    for (const socket of sockets) socket.close('goingAway', 'the relay is shutting down')
    await Promise.all([...rooms.values()].map((room) => room.close()))
    // A socket that does not finish the closing handshake is destroyed after a timeout (see RelaySocket).
    await Promise.all(closed)
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    logger.info({}, 'relay closed: every accepted update is stored')
  }

  return {
    attach: (server) => {
      gate.watch(server)
      server.on('upgrade', handleUpgrade)
    },
    handleUpgrade,
    stats: () => ({ connections: sockets.size, documents: rooms.size }),
    close: () => (closing ??= close()),
  }
}
