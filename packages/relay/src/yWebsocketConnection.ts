/**
 * Owns a connection in y-websocket mode: one document, named by the URL path,
 * the token from the `token` query parameter, frames as y-websocket writes
 * them, and the access granted when it connected. Frames that arrive while
 * the hook decides wait here; the connection joins its room only once it is
 * authorized. No acks: stock clients have no way to read them, nor a refused
 * frame, so a dropped write is told with y-protocols' "permission denied"
 * and a refused one closes the connection (4422). Instead of acks, with
 * `echoCommitted`, each update the client sends comes back to it once it is
 * durable: stock providers (y-websocket 3.1 release candidates, @y/websocket
 * 4) count a local update as saved when its content ids come back.
 */
import type { IncomingMessage } from 'node:http'
import { decodeYWebsocketMessage, documentNameProblem, encodeYWebsocketMessage, ProtocolError } from '@concord/protocol'
import { atExpiry, authorize, type Authenticate } from './auth.js'
import { AuthWaitingFrames, type AuthWaitingCaps } from './authWaitingFrames.js'
import type { Logger } from './logger.js'
import type { RelaySocket } from './relaySocket.js'
import type { Room, RoomPeer, SyncOutcome } from './room.js'

export interface YWebsocketConnectionOptions {
  readonly socket: RelaySocket
  readonly request: IncomingMessage
  readonly acquireRoom: (doc: string) => Room
  readonly authenticate: Authenticate
  readonly logger: Logger
  /** Read the token from the `token` query parameter (the relay's `queryTokens`). */
  readonly queryTokens: boolean
  /** Send each update back to its sender once it is durable (the relay's `echoCommitted`). */
  readonly echoCommitted: boolean
  /** Frames (and their bytes) that may wait for the authorization answer; one more closes the connection (4429). */
  readonly waitingCaps: AuthWaitingCaps
}

/** The `token` query parameter: in y-websocket mode, stock clients have no other way to send one. */
const tokenFromUrl = (url: string | undefined): string | undefined => {
  const query = (url ?? '').split('?', 2)[1]
  return query === undefined ? undefined : (new URLSearchParams(query).get('token') ?? undefined)
}

/**
 * The document a y-websocket client asks for: its URL path after the first
 * slash, up to any query, percent-decoded and taken literally. (A URL parser
 * would read `//team/notes`, which a provider for room `/team/notes` asks for,
 * as host `team` and path `/notes`, and would fold `..` segments.) Throws a
 * ProtocolError (`invalidDocumentName`) for a name that is not one.
 */
const documentFromUrl = (url: string | undefined): string => {
  const path = (url ?? '/').split('?', 1)[0]!
  let doc: string
  try {
    doc = decodeURIComponent(path.slice(1))
  } catch (error) {
    throw new ProtocolError('invalidDocumentName', 'the document name is not valid percent-encoded UTF-8', {
      cause: error,
    })
  }
  const problem = documentNameProblem(doc)
  if (problem) throw new ProtocolError('invalidDocumentName', problem)
  return doc
}

/** The connection once authorized: its membership of the document's room. */
interface Joined {
  readonly room: Room
  readonly peer: RoomPeer
}

export class YWebsocketConnection {
  readonly #options: YWebsocketConnectionOptions
  readonly #socket: RelaySocket
  /** The document, or why the URL names none. */
  readonly #doc: string | ProtocolError
  /** Frames that arrived before the connection was authorized, in order. */
  readonly #early: Uint8Array[] = []
  readonly #waiting: AuthWaitingFrames
  #joined: Joined | undefined
  #cancelExpiry: (() => void) | undefined
  #toldReadOnly = false
  /** Reads the document from the URL and names it on the connection's log lines; nothing is sent yet. */
  constructor(options: YWebsocketConnectionOptions) {
    this.#options = options
    this.#socket = options.socket
    this.#waiting = new AuthWaitingFrames(options.waitingCaps)
    try {
      this.#doc = documentFromUrl(options.request.url)
      this.#socket.logFields.doc = this.#doc
    } catch (error) {
      this.#doc = error as ProtocolError
    }
  }

  /**
   * Called once the connection's open line is logged: closes it (4400) when
   * the URL names no valid document, or asks the hook and joins the room.
   */
  start(): void {
    const doc = this.#doc
    if (doc instanceof ProtocolError) {
      this.#socket.close(doc.code, doc.message)
      return
    }
    const { authenticate, request, logger, queryTokens } = this.#options
    const token = queryTokens ? tokenFromUrl(request.url) : undefined
    authorize(authenticate, request, doc, token, logger)
      .then((result) => {
        if (!this.#socket.isOpen) return
        if ('denied' in result) {
          this.#socket.close(result.denied, result.reason)
          return
        }
        this.#join(doc, result.access === 'write', result.subject)
        if (result.expiresAt !== undefined) {
          this.#cancelExpiry = atExpiry(result.expiresAt, () =>
            this.#socket.close('unauthenticated', 'the token expired'),
          )
        }
        logger.debug({ ...this.#socket.logFields, access: result.access }, 'connection authorized')
        this.#waiting.clear()
        for (const bytes of this.#early.splice(0)) {
          if (!this.#socket.isOpen) break
          try {
            this.#handle(bytes)
          } catch (error) {
            this.#socket.frameFailed(error)
          }
        }
      })
      .catch((error: unknown) => {
        logger.error({ ...this.#socket.logFields, err: error }, 'could not set up a connection')
        this.#socket.close('internalError', 'unexpected error in the relay')
      })
  }

  /** Throws a ProtocolError for a frame that is malformed or invalid, or one too many before authorization. */
  receive(bytes: Uint8Array): void {
    if (this.#joined) {
      this.#handle(bytes)
      return
    }
    this.#waiting.take(bytes.byteLength)
    this.#early.push(bytes)
  }

  closed(): void {
    this.#cancelExpiry?.()
    this.#early.length = 0
    this.#waiting.clear()
    this.#joined?.room.leave(this.#joined.peer)
  }

  #join(doc: string, canWrite: boolean, by: string | undefined): void {
    const socket = this.#socket
    const peer: RoomPeer = {
      mode: 'y-websocket',
      canWrite,
      by,
      send: (frame) => socket.send(frame),
      probe: () => socket.probe(),
      refuse: (code, reason) => socket.close(code, reason),
      ...(this.#options.echoCommitted && {
        committed: (update: Uint8Array, frame?: Uint8Array) => {
          // An empty update (a step 2 from a client with nothing to add) has no content to confirm.
          if (update.byteLength === 2 && update[0] === 0 && update[1] === 0) return
          // As an update, not a step 2: a step 2 would also tell the provider it has synced. A sync
          // update frame is nothing but the update after two bytes and its length: the frame it came
          // in is sent back as it is.
          socket.send(frame ?? encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
        },
      }),
    }
    const room = this.#options.acquireRoom(doc)
    this.#joined = { room, peer }
    room.join(peer)
  }

  #handle(bytes: Uint8Array): void {
    const { room, peer } = this.#joined!
    const message = decodeYWebsocketMessage(bytes)
    if (message.type === 'permissionDenied') {
      throw new ProtocolError('malformedMessage', 'auth messages are sent by the relay only')
    }
    const update = message.type === 'sync' && message.sync.type === 'update'
    room.receive(peer, update ? { type: 'sync', sync: message.sync, frame: bytes } : message)?.then(
      (outcome) => outcome && this.#settled(outcome),
      (error: unknown) => this.#failed(error),
    )
  }

  #settled(outcome: SyncOutcome): void {
    if (outcome.kind === 'refused') {
      this.#socket.close(outcome.code, outcome.reason)
    } else if (outcome.kind === 'dropped' && !this.#toldReadOnly) {
      // Once: y-protocols' "permission denied" is the only refusal a stock provider understands.
      this.#toldReadOnly = true
      this.#socket.send(
        encodeYWebsocketMessage({ type: 'permissionDenied', reason: 'read-only: your changes are not kept' }),
      )
    }
  }

  #failed(error: unknown): void {
    // Anything else is a store failure, and the room has refused this peer already.
    if (error instanceof ProtocolError) this.#socket.close(error.code, error.message)
  }
}
