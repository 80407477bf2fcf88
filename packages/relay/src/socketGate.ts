/**
 * Owns the relay's gate on the sockets of the server it is attached to,
 * before any HTTP is read from them: each socket counts against its peer's
 * address from the moment it is accepted, so requests that are never sent
 * in full (half-open upgrades) count as much as open WebSockets; a socket
 * that has not sent a whole request head within `headersTimeoutMs` is
 * closed; and the server holds at most `maxSockets` sockets, below the
 * process's file-descriptor limit, so the relay can always open its store.
 *
 * Sockets from a trusted proxy are not counted here (one proxy carries many
 * clients): their upgrades are counted by the address the proxy names.
 * Behind TLS (an https.Server) a socket is gated once its handshake is done;
 * the handshake itself is bounded by the server's own `handshakeTimeout`.
 */
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Logger } from './logger.js'

export interface SocketGateOptions {
  readonly maxConnectionsPerIp: number
  readonly headersTimeoutMs: number
  /** The cap on the server's sockets; undefined keeps a cap the server has, or sets defaultMaxSockets(). */
  readonly maxSockets: number | undefined
  /** Normalized addresses of the trusted proxies. */
  readonly isTrustedProxy: (address: string) => boolean
  readonly normalize: (address: string) => string
  readonly logger: Logger
}

const tooMany = 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
/** How long a refused socket may take to read its 429 before it is destroyed. */
const refusalLingerMs = 1_000
/** At most one log line per this long about sockets dropped at the server's cap. */
const dropLogIntervalMs = 10_000

/**
 * The default cap on a server's sockets: the soft limit on open files (Linux: /proc/self/limits)
 * less an eighth of it, and never less than 256 below it, leaving room for the store, logs and
 * drivers; 896 (1,024 less 128) where the limit cannot be read.
 */
export const defaultMaxSockets = (): number => {
  let limit: number | undefined
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    limit = line ? Number(line[1]) : undefined
  } catch {
    // Not Linux: the fallback below.
  }
  if (limit === undefined || !Number.isSafeInteger(limit) || limit < 64) return 896
  return limit - Math.min(256, Math.floor(limit / 8))
}

export class SocketGate {
  readonly #options: SocketGateOptions
  readonly #perAddress = new Map<string, number>()
  /** The address each counted socket counts against. */
  readonly #counted = new WeakMap<Duplex, string>()
  readonly #refused = new WeakSet<Duplex>()
  readonly #headerTimers = new WeakMap<Duplex, NodeJS.Timeout>()

  constructor(options: SocketGateOptions) {
    this.#options = options
  }

  /** Gates every socket `server` accepts from now on, and caps its sockets unless the server already has a cap. */
  watch(server: Server): void {
    const { maxSockets } = this.#options
    const hasCap = Number.isFinite(server.maxConnections) && server.maxConnections > 0
    if (maxSockets !== undefined || !hasCap) server.maxConnections = maxSockets ?? defaultMaxSockets()
    let lastDropLog = 0
    let dropped = 0
    server.on('drop', () => {
      dropped++
      if (Date.now() - lastDropLog < dropLogIntervalMs) return
      lastDropLog = Date.now()
      this.#options.logger.warn(
        { maxSockets: server.maxConnections, dropped },
        'sockets closed at once: the server holds as many as it may',
      )
      dropped = 0
    })
    // Behind TLS (https.Server), requests arrive on the TLS socket, not on the TCP one under it.
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) =>
      this.#accepted(socket),
    )
    server.on('request', (request: { socket: Duplex }) => this.headersArrived(request.socket))
  }

  /** The request head of `socket` arrived: it is no longer half-open. */
  headersArrived(socket: Duplex): void {
    clearTimeout(this.#headerTimers.get(socket))
    this.#headerTimers.delete(socket)
  }

  /** The socket was refused at once; nothing more is to be done with it. */
  isRefused(socket: Duplex): boolean {
    return this.#refused.has(socket)
  }

  /** Whether one more connection from `address` is within the limit. */
  hasRoomFor(address: string): boolean {
    return (this.#perAddress.get(address) ?? 0) < this.#options.maxConnectionsPerIp
  }

  /** Counts `socket` against `address` until it closes, unless it is counted already. */
  count(socket: Duplex, address: string): void {
    if (this.#counted.has(socket)) return
    this.#counted.set(socket, address)
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1)
    socket.once('close', () => {
      const left = (this.#perAddress.get(address) ?? 1) - 1
      if (left > 0) this.#perAddress.set(address, left)
      else this.#perAddress.delete(address)
    })
  }

  isCounted(socket: Duplex): boolean {
    return this.#counted.has(socket)
  }

  #accepted(socket: Socket): void {
    const timer = setTimeout(() => {
      this.#options.logger.info({ ip: this.#peer(socket) }, 'socket closed: no request head in time')
      socket.destroy()
    }, this.#options.headersTimeoutMs)
    timer.unref()
    this.#headerTimers.set(socket, timer)
    socket.once('close', () => this.headersArrived(socket))
    const peer = this.#peer(socket)
    if (this.#options.isTrustedProxy(peer)) return
    if (!this.hasRoomFor(peer)) {
      this.#refuse(socket, peer)
      return
    }
    this.count(socket, peer)
  }

  #peer(socket: Socket): string {
    return this.#options.normalize(socket.remoteAddress ?? 'unknown')
  }

  /**
   * Answers 429 before reading anything, and reads (and drops) whatever the peer sends until it
   * closes, or for a second: closing with unread data would reset the connection, and the peer
   * might lose the 429 before reading it.
   */
  #refuse(socket: Socket, peer: string): void {
    this.#refused.add(socket)
    this.headersArrived(socket)
    this.#options.logger.info(
      { ip: peer, status: '429 Too Many Requests' },
      'socket refused: too many connections from this address',
    )
    // The HTTP server's parser must not see this socket's request: nothing is to be served on it.
    socket.removeAllListeners('data')
    socket.on('data', () => {})
    socket.on('error', () => {})
    socket.end(tooMany)
    const linger = setTimeout(() => socket.destroy(), refusalLingerMs)
    linger.unref()
    socket.once('close', () => clearTimeout(linger))
  }
}
