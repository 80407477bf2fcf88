/**
 * Owns the relay as a library: accepts WebSocket upgrades from any node:http
 * server, picks the wire mode from the subprotocol, keeps the registry of
 * loaded documents, runs the heartbeat, and shuts everything down in order.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  closeCodeName,
  closeCodes,
  documentNameProblem,
  isNativeSubprotocol,
  nativeSubprotocols,
  ProtocolError,
} from '@concord/protocol'
import { WebSocketServer, type WebSocket } from 'ws'
import { allowEveryone } from './auth.js'
import { ChangeFeed } from './changeFeed.js'
import { outboxEvent, outboxOf } from './webhookOutbox.js'
import { clientAddressResolver, normalizeAddress } from './clientAddress.js'
import { callHook } from './hookCall.js'
import { createHttpApi } from './httpApi.js'
import { DocumentHistory, keepsVersions } from './documentHistory.js'
import { HistoryUnavailableError } from './errors.js'
import { canThin, VersionThinning } from './versionThinning.js'
import { silentLogger } from './logger.js'
import { NativeConnection } from './nativeConnection.js'
import { observedStore } from './relayObserver.js'
import { RelaySocket } from './relaySocket.js'
import { QueuedBytes } from './queuedBytes.js'
import { Room } from './room.js'
import { openServerDocument, type OpenDocumentOptions, type ServerDocument } from './serverDocument.js'
import { SocketGate } from './socketGate.js'
import { timedStore } from './timedStore.js'
import { inspectUpdate } from './yjsUpdates.js'
import { TokenBucket } from './tokenBucket.js'
import { wireModeOf } from './wireMode.js'
import { YWebsocketConnection } from './yWebsocketConnection.js'

import { relayDefaults, type RateLimit, type Relay, type RelayOptions } from './relayOptions.js'

type Connection = YWebsocketConnection | NativeConnection

const eventTimingOf = ({
  debounceMs = 1_000,
  maxWaitMs = 10 * debounceMs,
}: NonNullable<RelayOptions['webhookEvents']>) => ({
  debounceMs,
  maxWaitMs: Math.max(debounceMs, maxWaitMs),
})

export const createRelay = (options: RelayOptions): Relay => {
  const settings = { ...relayDefaults, ...options }
  const logger = options.logger ?? silentLogger
  const observer = options.observer ?? {}
  const store = observedStore(timedStore(options.store, settings.storeTimeoutMs), observer)
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
  const eventTiming = options.webhookEvents && eventTimingOf(options.webhookEvents)
  if (eventTiming && !outboxOf(options.store)) {
    throw new TypeError("webhookEvents needs a store with an outbox (this relay's store has no claimOutbox)")
  }
  const changeFeed =
    options.onChange &&
    new ChangeFeed({
      onChange: options.onChange,
      debounceMs: settings.onChangeDebounceMs,
      maxWaitMs: 10 * settings.onChangeDebounceMs,
      hookTimeoutMs: settings.hookTimeoutMs,
      logger,
      observer,
    })
  const { loadDocument } = options
  const seed =
    loadDocument &&
    (async (name: string): Promise<Uint8Array | undefined> => {
      try {
        const initial = await callHook('loadDocument', () => loadDocument(name), settings.hookTimeoutMs)
        if (initial !== undefined && !(initial instanceof Uint8Array)) throw new TypeError('it returned no Uint8Array')
        if (initial !== undefined) inspectUpdate(initial)
        return initial
      } catch (error) {
        observer.hookFailed?.('loadDocument')
        logger.error({ doc: name, err: error }, 'the loadDocument hook failed')
        throw error
      }
    })
  const queuedBytes = new QueuedBytes(settings.maxQueuedBytes)
  const authWaitingCaps = {
    maxFrames: settings.maxWaitingFrames,
    maxBytes: options.maxWaitingBytes ?? settings.maxPayload,
    relay: queuedBytes,
  }
  const sockets = new Set<RelaySocket>()
  const serverDocuments = new Set<ServerDocument>()
  let closing: Promise<void> | undefined

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxPayload,
    perMessageDeflate: false,
    // The newest native version the client offers (concord.v3, then concord.v2); none is y-websocket mode.
    handleProtocols: (offered) => nativeSubprotocols.find((version) => offered.has(version)) ?? false,
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
        maxQueuedBytes: settings.maxQueuedBytesPerDocument,
        relayQueuedBytes: queuedBytes,
        onGone: (gone) => rooms.get(gone.name) === gone && rooms.delete(gone.name),
        onQuarantined: (from) => observer.updateQuarantined?.(from),
        fanout: options.fanout,
        seed,
        stored:
          (changeFeed || history) &&
          ((name, update, by) => {
            changeFeed?.stored(name, update, by)
            history?.written(name, by)
          }),
        settledGone: history && ((name, state) => history.roomGone(name, state)),
        events: eventTiming,
      })
      rooms.set(doc, room)
    }
    return room
  }

  const history =
    options.history !== false && keepsVersions(store)
      ? new DocumentHistory({ ...options.history, store, acquireRoom, logger })
      : undefined
  const thinning =
    history && options.history !== false && options.history?.retention !== false && canThin(store)
      ? new VersionThinning({ ...options.history?.retention, store, logger, observer })
      : undefined
  thinning?.start()

  /** The history, once `name` is checked; rejects when there is none. */
  const historyFor = (name: string): DocumentHistory => {
    const problem = documentNameProblem(name)
    if (problem) throw new ProtocolError('invalidDocumentName', problem)
    if (closing) throw new ProtocolError('goingAway', 'the relay is shutting down')
    if (!history) throw new HistoryUnavailableError()
    return history
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
  const logClosed = (socket: RelaySocket, connection: Connection, code: number, reason: string): void => {
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
    const mode = wireModeOf(ws.protocol)
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
    const connectionOptions = { socket, request, acquireRoom, authenticate, logger }
    const connection: Connection =
      mode === 'native'
        ? new NativeConnection({
            ...connectionOptions,
            observer,
            maxDocuments: settings.maxDocumentsPerConnection,
            maxWaitingFrames: authWaitingCaps.maxFrames,
            maxWaitingBytes: authWaitingCaps.maxBytes,
            queuedBytes,
            ...(isNativeSubprotocol(ws.protocol) && { subprotocol: ws.protocol }),
            history: historyCalls,
          })
        : new YWebsocketConnection({
            ...connectionOptions,
            queryTokens: settings.queryTokens,
            echoCommitted: settings.echoCommitted,
            waitingCaps: authWaitingCaps,
          })

    ws.on('error', (error) => logger.warn({ ...socket.logFields, err: error }, 'connection error'))
    ws.on('close', (code, reason) => {
      sockets.delete(socket)
      connection.closed()
      logClosed(socket, connection, code, reason.toString())
    })
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
      try {
        connection.receive(data as Buffer)
      } catch (error) {
        socket.frameFailed(error)
      }
    })

    opened(socket)
    // After the open line, which names its document: a y-websocket connection is authorized (or refused) now.
    if (connection instanceof YWebsocketConnection) connection.start()
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

  const historyCalls: Pick<Relay, 'saveVersion' | 'listVersions' | 'loadVersion' | 'restoreVersion'> = {
    saveVersion: async (name, { label }) => historyFor(name).saveVersion(name, { label }),
    listVersions: async (name, { before, limit = 50 } = {}) =>
      historyFor(name).listVersions(name, { ...(before !== undefined && { before }), limit }),
    loadVersion: async (name, id) => historyFor(name).loadVersion(name, id),
    restoreVersion: async (name, id, restoreOptions) => historyFor(name).restore(name, id, restoreOptions),
  }

  const handleHttp = createHttpApi({
    acquireRoom,
    store,
    deleteDocument: (name, { by }) => deleteDocument(name, { by }),
    authenticate,
    apiKey: options.apiKey,
    logger,
    maxBodyBytes: settings.maxPayload,
    requestsPerSecond: rateLimit.messagesPerSecond,
    clientAddressOf: ipOf,
    closing: () => closing !== undefined,
    history: historyCalls,
  })

  const openDocument = async (name: string, documentOptions: OpenDocumentOptions = {}): Promise<ServerDocument> => {
    const problem = documentNameProblem(name)
    if (problem) throw new ProtocolError('invalidDocumentName', problem)
    if (closing) throw new ProtocolError('goingAway', 'the relay is shutting down')
    const opened = await openServerDocument(acquireRoom(name), name, documentOptions.by ?? 'server')
    const close = opened.close
    const tracked: ServerDocument = { ...opened, close: () => close().finally(() => serverDocuments.delete(tracked)) }
    serverDocuments.add(tracked)
    return tracked
  }

  const deleteDocument = async (name: string, { by = 'server' }: { readonly by?: string } = {}): Promise<void> => {
    const problem = documentNameProblem(name)
    if (problem) throw new ProtocolError('invalidDocumentName', problem)
    if (!store.remove) throw new TypeError("this relay's store cannot delete documents (it has no remove)")
    await store.remove(name, eventTiming && [outboxEvent('document.deleted', name, [by], {}, eventTiming)])
    rooms.get(name)?.deleted()
    logger.info({ doc: name, by }, 'document deleted')
    // The other relays' connections are told now, not at their relay's next store call.
    options.fanout?.publishDeletion(name)
    const { onDelete } = options
    if (!onDelete) return
    try {
      await callHook('onDelete', () => onDelete({ name, by }), settings.hookTimeoutMs)
    } catch (error) {
      observer.hookFailed?.('onDelete')
      logger.error({ doc: name, err: error }, 'the onDelete hook failed')
    }
  }

  const close = async (): Promise<void> => {
    clearInterval(heartbeat)
    history?.beginClosing()
    // Their transactions so far are stored like every accepted update.
    await Promise.allSettled([...serverDocuments].map((document) => document.close()))
    // Not events.once: that rejects on an 'error' event, and a socket may fail while it closes.
    const closed = [...sockets].map((socket) => new Promise((resolve) => socket.ws.once('close', resolve)))
    for (const socket of sockets) socket.close('goingAway', 'the relay is shutting down')
    await Promise.all([...rooms.values()].map((room) => room.close()))
    // A socket that does not finish the closing handshake is destroyed after a timeout (see RelaySocket).
    await Promise.all(closed)
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    await changeFeed?.flush()
    await thinning?.stop()
    await history?.close()
    logger.info({}, 'relay closed: every accepted update is stored')
  }

  return {
    attach: (server) => {
      gate.watch(server)
      server.on('upgrade', handleUpgrade)
    },
    handleUpgrade,
    handleHttp,
    openDocument,
    deleteDocument,
    ...historyCalls,
    stats: () => ({ connections: sockets.size, documents: rooms.size, queuedBytes: queuedBytes.total }),
    close: () => (closing ??= close()),
  }
}
