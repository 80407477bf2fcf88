/**
 * Owns a document's own socket, with a wire of a socket per document (the
 * y-websocket one): the connection, made once the wire is at hand, and the
 * link the document's sync uses over it.
 *
 * With `protocol: 'y-websocket'` the wire's code (yWebsocket.ts) is loaded with
 * `import()` when the document first connects, so a page that never uses it
 * does not load it up front. Until it arrives the link says `connecting` and
 * sends nothing: the sync keeps every edit pending (the device store has it)
 * and sends it once the socket opens, as while any socket connects. If it
 * cannot be loaded, the link says `offline` and `failed` reports a ConcordError
 * `moduleUnavailable`.
 */
import type { NativeFrame } from '@concord/protocol/core'
import type { RelayLink } from './docSync.js'
import { ConcordError } from './errors.js'
import type { RelayConnection } from './relayConnection.js'
import type { ConnectionStatus } from './syncStatus.js'
import type { PerDocumentWire, Wire } from './wire.js'

export interface DocumentSocketOptions {
  readonly doc: string
  /** The relay's URL, which the wire turns into the document's. */
  readonly url: string
  /** The wire, or how to load it (on `start()`; rejects when its code cannot be loaded). */
  readonly wire: PerDocumentWire | (() => Promise<PerDocumentWire>)
  /** Makes the document's connection, with its error reporting, not yet connected. */
  readonly connection: (url: string, frames: Wire) => RelayConnection
  /** Whether to connect at all (the client's `connect`). */
  readonly connect: boolean
}

export interface DocumentSocketEvents {
  /** Frames from the socket, and those the link makes up (the acks of a server that sends none). */
  readonly receive: (frame: NativeFrame) => void
  readonly statusChanged: (status: ConnectionStatus) => void
  /** The wire's code could not be loaded. */
  readonly failed: (error: ConcordError) => void
}

export class DocumentSocket implements RelayLink {
  readonly #options: DocumentSocketOptions
  #connection: RelayConnection | undefined
  #link: RelayLink | undefined
  #loading = false
  #destroyed = false

  constructor(options: DocumentSocketOptions) {
    this.#options = options
    // A wire at hand makes the connection at once, as before: a bad option throws from `open()`.
    if (typeof options.wire !== 'function')
      this.#connection = options.connection(this.#url(options.wire), this.#frames(options.wire))
  }

  get status(): ConnectionStatus {
    return this.#connection?.status ?? (this.#loading ? 'connecting' : 'offline')
  }

  get serverSpeaksFirst(): boolean {
    return this.#link?.serverSpeaksFirst ?? false
  }

  send(frame: NativeFrame): boolean {
    return this.#link?.send(frame) ?? false
  }

  /** Connects (once the wire is loaded, where it must be), telling `events` from then on. */
  start(events: DocumentSocketEvents): void {
    const { wire, connect } = this.#options
    if (typeof wire !== 'function') {
      this.#attach(wire, this.#connection!, events)
      return
    }
    if (!connect) return
    this.#loading = true
    wire().then(
      (loaded) => {
        this.#loading = false
        if (this.#destroyed) return
        this.#attach(loaded, this.#options.connection(this.#url(loaded), this.#frames(loaded)), events)
        // A socket that opens now said `connecting` already; one that waits for a token has not.
        if (this.status !== 'connecting') events.statusChanged(this.status)
      },
      (cause: unknown) => {
        this.#loading = false
        if (this.#destroyed) return
        const { doc } = this.#options
        events.failed(
          new ConcordError('moduleUnavailable', `the y-websocket wire's code could not be loaded`, doc, { cause }),
        )
        events.statusChanged(this.status)
      },
    )
  }

  destroy(): void {
    this.#destroyed = true
    this.#connection?.destroy()
  }

  #url(wire: PerDocumentWire): string {
    return wire.url(this.#options.url, this.#options.doc)
  }

  #frames(wire: PerDocumentWire): Wire {
    return wire.frames(this.#options.doc)
  }

  #attach(wire: PerDocumentWire, connection: RelayConnection, events: DocumentSocketEvents): void {
    this.#connection = connection
    this.#link = wire.link(connection, events.receive)
    connection.on('status', events.statusChanged)
    connection.on('frame', events.receive)
    if (this.#options.connect) connection.connect()
  }
}
