/**
 * Owns a WebSocket test double that a test drives by hand: it opens, fails,
 * closes or delivers a frame only when told to, never closes by itself (as a
 * dead TCP connection would not), and records what was sent to it, so
 * reconnect and heartbeat timing can be tested with fake timers.
 */
import { decodeNativeFrame, encodeNativeFrame, nativeSubprotocol, type NativeFrame } from '@concord/protocol'
import type { WebSocketLike } from '../relayConnection.js'

type EventType = 'open' | 'error' | 'message' | 'close'
type Listener = (event: never) => void

export class FakeWebSocket implements WebSocketLike {
  binaryType = 'blob'
  protocol = ''
  state: 'connecting' | 'open' | 'closed' = 'connecting'
  /** Every frame sent on this socket, decoded. */
  readonly sent: NativeFrame[] = []
  /** The arguments of every `close()` call. */
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = []
  readonly #listeners = new Map<EventType, Set<Listener>>()

  constructor(
    readonly url: string,
    readonly protocols: string | string[] | undefined,
  ) {}

  addEventListener(type: EventType, listener: Listener): void {
    const listeners = this.#listeners.get(type) ?? new Set()
    listeners.add(listener)
    this.#listeners.set(type, listeners)
  }

  removeEventListener(type: EventType, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener)
  }

  listenerCount(type: EventType): number {
    return this.#listeners.get(type)?.size ?? 0
  }

  send(data: Uint8Array): void {
    // As a browser does: sending on a socket that is still opening is an InvalidStateError.
    if (this.state === 'connecting') throw new Error('InvalidStateError: still connecting')
    if (this.state === 'open') this.sent.push(decodeNativeFrame(data))
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason })
  }

  /** The server accepted the socket and selected `protocol`. */
  open(protocol = nativeSubprotocol): void {
    this.state = 'open'
    this.protocol = protocol
    this.#dispatch('open', undefined)
  }

  /** The attempt failed before opening, as a refused connection does. */
  fail(): void {
    this.state = 'closed'
    this.#dispatch('error', undefined)
    this.#dispatch('close', { code: 1006, reason: '' })
  }

  /** The server closed the socket (or the close handshake finished). */
  serverClose(code = 1001, reason = ''): void {
    this.state = 'closed'
    this.#dispatch('close', { code, reason })
  }

  /** A frame from the server; raw bytes or a string for malformed ones. */
  receive(message: NativeFrame | Uint8Array | string): void {
    const data =
      typeof message === 'string'
        ? message
        : (message instanceof Uint8Array ? message : encodeNativeFrame(message)).slice().buffer
    this.#dispatch('message', { data })
  }

  #dispatch(type: EventType, event: unknown): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event as never)
  }
}

/** A WebSocket constructor whose sockets are FakeWebSockets, and the list of every socket it made. */
export const fakeWebSockets = () => {
  const sockets: FakeWebSocket[] = []
  class WebSocket extends FakeWebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      sockets.push(this)
    }
  }
  return {
    WebSocket,
    sockets,
    /** The socket made last. */
    latest: (): FakeWebSocket => {
      const socket = sockets.at(-1)
      if (!socket) throw new Error('no socket was made')
      return socket
    },
  }
}
