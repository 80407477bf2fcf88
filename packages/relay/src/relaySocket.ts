/**
 * Owns one WebSocket as the relay sees it: binary frames in, a bounded send
 * buffer out, liveness for the heartbeat, what went through it, and closing
 * with a documented code, a reason and a log line. Whatever happens to this
 * socket stays with it.
 */
import { closeCodes, ProtocolError, type CloseCodeName } from '@concord/protocol'
import type { Socket } from 'node:net'
import { WebSocket } from 'ws'
import type { Logger } from './logger.js'
import type { RelayObserver } from './relayObserver.js'
import type { WireMode } from './wireMode.js'

export interface RelaySocketOptions {
  /** Close a peer whose unsent bytes pass this (it is not reading). */
  readonly maxBufferedBytes: number
  /** How long a probed peer has to answer (see probe()). */
  readonly presenceProbeTimeoutMs: number
  readonly logger: Logger
  readonly observer: RelayObserver
}

/** What went through one connection, for its closing log line. */
export interface Traffic {
  messagesIn: number
  bytesIn: number
  messagesOut: number
  bytesOut: number
}

/** A socket that has not finished its closing handshake by then is destroyed. */
const closeTimeoutMs = 5_000
/** RFC 6455's code for a connection that ended without a close frame; never sent on the wire. */
const abnormalClosure = 1006
/** RFC 6455 allows 123 bytes of close reason. */
const maxReasonBytes = 123

const truncateReason = (reason: string): string => {
  const bytes = Buffer.from(reason)
  if (bytes.length <= maxReasonBytes) return reason
  // Cut on a character boundary: drop any partial UTF-8 sequence at the end.
  return bytes
    .subarray(0, maxReasonBytes)
    .toString()
    .replace(/\uFFFD+$/, '')
}

let lastId = 0

/**
 * The TCP sockets corked in this turn, all uncorked by one setImmediate when it ends. One
 * setImmediate per socket was an Immediate and a closure per peer per turn: for a document that
 * sees an update a turn, one per delivery.
 */
const corkedThisTurn = new Set<Socket>()
const uncorkAll = (): void => {
  for (const socket of corkedThisTurn) socket.uncork()
  corkedThisTurn.clear()
}

export class RelaySocket {
  readonly id = ++lastId
  /** Fields that go on every log line of this connection. */
  readonly logFields: Record<string, unknown>
  /** Cleared before each heartbeat ping; set by the pong or by any frame. */
  alive = true
  readonly openedAt = Date.now()
  readonly traffic: Traffic = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 }
  /** The code and reason the relay closed this connection with; undefined if the client closed it. */
  closedWith: { readonly code: number; readonly reason: string } | undefined
  #closing = false
  /** Counts pongs and frames: what a probe waits for. */
  #heard = 0
  #probing = false

  constructor(
    readonly ws: WebSocket,
    readonly mode: WireMode,
    logFields: Readonly<Record<string, unknown>>,
    private readonly options: RelaySocketOptions,
  ) {
    this.logFields = { conn: this.id, mode, ...logFields }
    ws.on('pong', () => {
      this.alive = true
      this.#heard++
    })
  }

  /** Counts one message that arrived. */
  received(bytes: number): void {
    this.#heard++
    this.traffic.messagesIn++
    this.traffic.bytesIn += bytes
    this.options.observer.messageReceived?.(this.mode, bytes)
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN && !this.#closing
  }

  send(frame: Uint8Array): void {
    if (!this.isOpen) return
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.close('slowReader', `more than ${this.options.maxBufferedBytes} bytes were waiting to be sent`)
      return
    }
    this.#cork()
    this.ws.send(frame)
    this.traffic.messagesOut++
    this.traffic.bytesOut += frame.byteLength
    this.options.observer.messageSent?.(this.mode, frame.byteLength)
  }

  /**
   * Holds this turn's frames in the TCP socket, so that they leave in one
   * write (one syscall) when the turn ends, rather than one write each: a
   * busy document sends each peer many small frames per turn. ws keeps its
   * socket as `_socket`; without one, frames are written one by one.
   */
  #cork(): void {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket
    if (!socket || corkedThisTurn.has(socket)) return
    if (corkedThisTurn.size === 0) setImmediate(uncorkAll)
    corkedThisTurn.add(socket)
    socket.cork()
  }

  /**
   * Asks the peer to show it is still there: a ping now, and the connection
   * is dropped if neither the pong nor any frame has come back when the
   * probe timeout ends. One probe at a time; the heartbeat is untouched.
   */
  probe(): void {
    if (this.#probing || !this.isOpen) return
    this.#probing = true
    const heard = this.#heard
    this.ws.ping()
    setTimeout(() => {
      this.#probing = false
      if (this.#heard === heard && this.isOpen) this.terminate('no answer to a presence probe')
    }, this.options.presenceProbeTimeoutMs).unref()
  }

  /** Drops the connection without a closing handshake (it shows as 1006, abnormal closure). */
  terminate(reason: string): void {
    if (this.#closing) return
    this.#closing = true
    this.closedWith = { code: abnormalClosure, reason }
    this.ws.terminate()
  }

  /**
   * Closes the connection for a frame it could not handle: with the code of
   * a ProtocolError, or, for anything else (a bug in the relay), with 4500
   * and an error log line.
   */
  frameFailed(error: unknown): void {
    if (error instanceof ProtocolError) {
      this.close(error.code, error.message)
      return
    }
    this.options.logger.error({ ...this.logFields, err: error }, 'unexpected error while handling a frame')
    this.close('internalError', 'unexpected error in the relay')
  }

  close(code: CloseCodeName, reason: string): void {
    if (this.#closing) return
    this.#closing = true
    this.closedWith = { code: closeCodes[code], reason }
    // The connection's one close line comes when it has closed (see relay.ts); this one is for debugging.
    this.options.logger.debug(
      { ...this.logFields, code: closeCodes[code], codeName: code, reason },
      'closing connection',
    )
    if (code === 'slowReader') {
      // A peer that does not read would never read the close frame either, queued behind
      // what it did not read: drop it now and free its buffer. It sees an abnormal closure.
      this.ws.terminate()
      return
    }
    this.ws.close(closeCodes[code], truncateReason(reason))
    setTimeout(() => this.ws.terminate(), closeTimeoutMs).unref()
  }
}
