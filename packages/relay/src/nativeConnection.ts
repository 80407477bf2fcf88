/**
 * Owns a connection in native mode (`concord.v2`): any number of documents
 * over one socket, opened and closed by the client, each authorized on its
 * own, and the answer to every sync frame a client numbers: an ack once it
 * is durable (batched to one frame per document per commit), or a `refused`
 * frame when it was dropped (read-only) or refused (invalid), sent before
 * any ack that would cover it. Frames are answered in `seq` order, so an ack
 * of n never goes out while a frame up to n has no answer yet. On `concord.v3`, the history
 * requests of an open document go to NativeHistory once it is authorized.
 */
import type { IncomingMessage } from 'node:http'
import {
  closeCodes,
  decodeNativeFrame,
  documentNameProblem,
  encodeNativeFrame,
  ProtocolError,
  type CloseCodeName,
  type NativeFrame,
  type NativeSubprotocol,
} from '@concord/protocol'
import { atExpiry, authorize, type Access, type Authenticate } from './auth.js'
import { AuthWaitingFrames } from './authWaitingFrames.js'
import type { HistoryCalls } from './historyHttp.js'
import type { Logger } from './logger.js'
import { maxRunningRequests, NativeHistory } from './nativeHistory.js'
import type { QueuedBytes } from './queuedBytes.js'
import type { RelayObserver } from './relayObserver.js'
import type { RelaySocket } from './relaySocket.js'
import type { Room, RoomPeer, SyncOutcome } from './room.js'
import { TokenBucket } from './tokenBucket.js'

type DocumentFrame = Extract<NativeFrame, { type: 'sync' | 'awareness' | 'queryAwareness' }>
type RequestFrame = Extract<NativeFrame, { type: 'request' }>

interface ReceivedFrame {
  readonly frame: DocumentFrame
  /** performance.now() when it arrived, for the ack latency. */
  readonly receivedAt: number
  /** Its size on the wire: what it keeps alive while it waits. */
  readonly bytes: number
}

/** The close log line names this many of a connection's documents at most. */
const maxLoggedDocuments = 16

/**
 * Auth frames a connection may send: a burst, then one per `intervalMs`.
 * A client sends one per socket and one per token refresh; each new token
 * re-asks the hook for every open document, so one more closes the
 * connection (4429).
 */
export const authFrameLimit = { burst: 10, intervalMs: 10_000 } as const

/** Documents re-authorized per event-loop turn after a new token, so that 256 of them do not stall the relay. */
const reauthorizeBatch = 16

/** A numbered sync frame waiting for its answer. */
interface Answer {
  readonly seq: number
  /** When it arrived, for the ack latency; undefined for a frame that carries no changes. */
  readonly receivedAt: number | undefined
  /** Undefined until the room settles it; a frame the room never settles blocks later acks for good. */
  outcome: SyncOutcome | undefined
}

interface OpenDocument {
  readonly peer: RoomPeer
  /** Undefined until the first authorization granted access; frames wait in `waiting` until then. */
  room: Room | undefined
  readonly waiting: ReceivedFrame[]
  /** History requests (concord.v3) waiting for the first authorization. */
  readonly requests: RequestFrame[]
  access: Access
  /** Who the newest authorization named, for the `onChange` hook. */
  subject: string | undefined
  expiresAt: number | undefined
  /** Numbers authorizations, so that only the newest one's answer counts. */
  authorizations: number
  /** The highest sequence number the client sent. */
  lastSeq: number
  /** Numbered frames handed to the room and not answered yet, in `seq` order. */
  readonly answers: Answer[]
  /** True once the read-only notice went out. */
  toldReadOnly: boolean
  /** The highest sequence number known durable, and the highest acknowledged. */
  committedSeq: number
  ackedSeq: number
  /** When each durable update frame not yet acknowledged arrived. */
  readonly unackedSince: number[]
}

export interface NativeConnectionOptions {
  readonly socket: RelaySocket
  readonly request: IncomingMessage
  readonly acquireRoom: (doc: string) => Room
  readonly authenticate: Authenticate
  readonly logger: Logger
  readonly observer: RelayObserver
  /** Documents open at once; one more gets an error frame (4429). */
  readonly maxDocuments: number
  /** Frames waiting for authorization answers, and their bytes; past either, the connection is closed (4429). */
  readonly maxWaitingFrames: number
  readonly maxWaitingBytes: number
  /** The relay's count of bytes in waiting frames, which those waiting here count against too. */
  readonly queuedBytes: QueuedBytes
  /** The subprotocol the socket selected; `concord.v2` knows no history frames. Default `concord.v2`. */
  readonly subprotocol?: NativeSubprotocol
  /** The relay's history calls, for the history requests of `concord.v3`. */
  readonly history?: HistoryCalls | undefined
}

export class NativeConnection {
  readonly #docs = new Map<string, OpenDocument>()
  readonly #socket: RelaySocket
  #token: string | undefined
  readonly #authFrames = new TokenBucket(1000 / authFrameLimit.intervalMs, authFrameLimit.burst)
  /** Numbers re-authorization runs, so that a newer token stops an older run. */
  #reauthorizations = 0
  #cancelExpiry: (() => void) | undefined
  #ackFlushQueued = false
  #closed = false
  readonly #waiting: AuthWaitingFrames
  #documentsOpened = 0
  readonly #loggedDocuments: string[] = []
  readonly #history: NativeHistory

  constructor(private readonly options: NativeConnectionOptions) {
    this.#socket = options.socket
    this.#history = new NativeHistory({
      history: options.history,
      send: (frame) => this.#socket.send(frame),
      logger: options.logger,
      logFields: options.socket.logFields,
    })
    this.#waiting = new AuthWaitingFrames({
      maxFrames: options.maxWaitingFrames,
      maxBytes: options.maxWaitingBytes,
      relay: options.queuedBytes,
    })
  }

  /** Throws a ProtocolError for a frame that is malformed or out of order. */
  receive(bytes: Uint8Array): void {
    const frame = decodeNativeFrame(bytes, this.options.subprotocol)
    switch (frame.type) {
      case 'auth':
        return this.#receiveToken(frame.token)
      case 'open':
        return this.#open(frame.doc)
      case 'close': {
        const open = this.#docs.get(frame.doc)
        if (!open) return
        this.#docs.delete(frame.doc)
        this.#release(open.waiting.splice(0))
        this.#failRequests(open, closeCodes.normal, 'closed', 'the document was closed before the request ran')
        open.room?.leave(open.peer)
        return
      }
      case 'request':
        return this.#request(frame)
      case 'sync':
      case 'awareness':
      case 'queryAwareness':
        return this.#receiveForDocument(frame, bytes.byteLength)
      case 'ping':
        this.#socket.send(encodeNativeFrame({ type: 'pong', doc: '', id: frame.id }))
        return
      case 'pong':
        return
      case 'ack':
      case 'refused':
      case 'error':
      case 'notice':
      case 'answer':
      case 'failed':
        throw new ProtocolError('malformedMessage', `${frame.type} frames are sent by the relay only`)
    }
  }

  /** The documents this connection opened (the first few by name), for its close log line. */
  get openedDocuments(): { readonly names: readonly string[]; readonly count: number } {
    return { names: this.#loggedDocuments, count: this.#documentsOpened }
  }

  closed(): void {
    this.#closed = true
    this.#cancelExpiry?.()
    for (const { room, peer } of this.#docs.values()) room?.leave(peer)
    this.#docs.clear()
    this.#waiting.clear()
    this.#history.closed()
  }

  /** Runs a history request once its document is authorized; a document not open fails it (4400). */
  #request(frame: RequestFrame): void {
    const open = this.#docs.get(frame.doc)
    if (!open) {
      const message = `open "${frame.doc}" before asking for its history`
      this.#history.fail(frame, { code: closeCodes.malformedMessage, error: 'documentNotOpen', message })
      return
    }
    if (open.room) return this.#history.run(frame, open)
    if (open.requests.length >= maxRunningRequests) {
      const message = `no more than ${maxRunningRequests} history requests may wait for authorization`
      this.#history.fail(frame, { code: closeCodes.rateLimited, error: 'rateLimited', message })
      return
    }
    open.requests.push(frame)
  }

  #failRequests(open: OpenDocument, code: number, error: string, message: string): void {
    for (const frame of open.requests.splice(0)) this.#history.fail(frame, { code, error, message })
  }

  /** Frees what `frames`, which waited for authorization, held. */
  #release(frames: readonly ReceivedFrame[]): void {
    if (frames.length > 0)
      this.#waiting.give(
        frames.length,
        frames.reduce((sum, { bytes }) => sum + bytes, 0),
      )
  }

  #open(doc: string): void {
    const problem = documentNameProblem(doc)
    if (problem) {
      this.#socket.send(
        encodeNativeFrame({ type: 'error', doc, code: closeCodes.invalidDocumentName, reason: problem }),
      )
      return
    }
    if (this.#docs.has(doc)) throw new ProtocolError('malformedMessage', `document "${doc}" is already open`)
    if (this.#docs.size >= this.options.maxDocuments) {
      const reason = `no more than ${this.options.maxDocuments} documents may be open on one connection`
      this.#socket.send(encodeNativeFrame({ type: 'error', doc, code: closeCodes.rateLimited, reason }))
      return
    }
    const open: OpenDocument = {
      peer: {
        mode: 'native',
        get canWrite() {
          return open.access === 'write'
        },
        get by() {
          return open.subject
        },
        send: (frame) => this.#socket.send(frame),
        probe: () => this.#socket.probe(),
        refuse: (code, reason) => this.#refuse(doc, open, code, reason),
      },
      room: undefined,
      waiting: [],
      requests: [],
      access: 'read',
      subject: undefined,
      expiresAt: undefined,
      authorizations: 0,
      lastSeq: 0,
      answers: [],
      toldReadOnly: false,
      committedSeq: 0,
      ackedSeq: 0,
      unackedSince: [],
    }
    this.#docs.set(doc, open)
    this.#documentsOpened++
    if (this.#loggedDocuments.length < maxLoggedDocuments && !this.#loggedDocuments.includes(doc)) {
      this.#loggedDocuments.push(doc)
    }
    this.#authorizeOrFail(doc, open)
  }

  /**
   * A new token re-asks the hook about every open document, a few per turn;
   * the same token again asks nothing (its answers stand). Past
   * `authFrameLimit` the connection is closed (4429).
   */
  #receiveToken(token: string): void {
    if (this.#authFrames.take(1) > 0) {
      const reason = `more than ${authFrameLimit.burst} auth frames, or more than one per ${authFrameLimit.intervalMs / 1000} s`
      this.options.logger.warn({ ...this.#socket.logFields, docs: this.#docs.size }, 'auth frames over their limit')
      this.#socket.close('rateLimited', reason)
      return
    }
    if (token === this.#token) return
    this.#token = token
    const run = ++this.#reauthorizations
    const docs = [...this.#docs]
    const authorizeFrom = (start: number): void => {
      if (this.#closed || run !== this.#reauthorizations) return
      const end = Math.min(start + reauthorizeBatch, docs.length)
      for (const [doc, open] of docs.slice(start, end)) {
        if (this.#docs.get(doc) === open) this.#authorizeOrFail(doc, open)
      }
      if (end < docs.length) setImmediate(() => authorizeFrom(end))
    }
    authorizeFrom(0)
  }

  /** Runs `#authorize`, whose promise nobody awaits: what it throws closes the connection (4500, logged). */
  #authorizeOrFail(doc: string, open: OpenDocument): void {
    this.#authorize(doc, open).catch((error: unknown) => this.#socket.frameFailed(error))
  }

  /** Asks the hook about `doc` with the current token, and applies the newest answer. */
  async #authorize(doc: string, open: OpenDocument): Promise<void> {
    const attempt = ++open.authorizations
    const { authenticate, request, logger } = this.options
    const result = await authorize(authenticate, request, doc, this.#token, logger)
    if (this.#closed || this.#docs.get(doc) !== open || attempt !== open.authorizations) return
    if ('denied' in result) {
      if (result.denied === 'unauthenticated') this.#socket.close('unauthenticated', result.reason)
      else this.#refuse(doc, open, 'forbidden', result.reason)
      return
    }
    const granted = open.access === 'read' && result.access === 'write'
    open.access = result.access
    open.subject = result.subject
    open.expiresAt = result.expiresAt
    this.#scheduleExpiry()
    if (open.room) {
      if (granted) open.room.writeGranted(open.peer)
      return
    }
    open.room = this.options.acquireRoom(doc)
    open.room.join(open.peer)
    const waiting = open.waiting.splice(0)
    this.#release(waiting)
    try {
      for (const received of waiting) this.#deliver(open, received)
    } catch (error) {
      // As for a frame delivered at once (relay.ts): a ProtocolError closes with its code, anything
      // else is a bug, logged and closed with 4500. Rethrown here, nobody would await it.
      this.#socket.frameFailed(error)
    }
    for (const frame of open.requests.splice(0)) this.#history.run(frame, open)
  }

  /** Closes the connection (4401) when the earliest expiry of what was granted comes. */
  #scheduleExpiry(): void {
    this.#cancelExpiry?.()
    this.#cancelExpiry = undefined
    let expiresAt = Infinity
    for (const open of this.#docs.values()) expiresAt = Math.min(expiresAt, open.expiresAt ?? Infinity)
    if (expiresAt === Infinity) return
    this.#cancelExpiry = atExpiry(expiresAt, () => this.#socket.close('unauthenticated', 'the token expired'))
  }

  #refuse(doc: string, open: OpenDocument, code: CloseCodeName, reason: string): void {
    if (this.#docs.get(doc) !== open) return
    this.#docs.delete(doc)
    this.#release(open.waiting.splice(0))
    this.#failRequests(open, closeCodes[code], code, reason)
    open.room?.leave(open.peer)
    this.#socket.send(encodeNativeFrame({ type: 'error', doc, code: closeCodes[code], reason }))
  }

  #receiveForDocument(frame: DocumentFrame, bytes: number): void {
    const received = { frame, receivedAt: performance.now(), bytes }
    const open = this.#docs.get(frame.doc)
    if (!open) {
      // The relay may have refused the document while this frame was on its way; the error frame tells the client.
      this.options.logger.debug({ ...this.#socket.logFields, doc: frame.doc }, 'frame for a document that is not open')
      return
    }
    if (frame.type === 'sync' && frame.seq > 0) {
      if (frame.seq <= open.lastSeq) {
        throw new ProtocolError(
          'malformedMessage',
          `sequence number ${frame.seq} of "${frame.doc}" is not above ${open.lastSeq}`,
        )
      }
      open.lastSeq = frame.seq
    }
    if (open.room) {
      this.#deliver(open, received)
      return
    }
    this.#waiting.take(bytes)
    open.waiting.push(received)
  }

  #deliver(open: OpenDocument, { frame, receivedAt }: ReceivedFrame): void {
    const seq = frame.type === 'sync' ? frame.seq : 0
    // Only frames that carry changes count towards the ack latency; a sync step 1 stores nothing.
    const carriesChanges = frame.type === 'sync' && frame.sync.type !== 'step1'
    const answer: Answer | undefined =
      seq > 0 ? { seq, receivedAt: carriesChanges ? receivedAt : undefined, outcome: undefined } : undefined
    if (answer) open.answers.push(answer)
    open.room!.receive(open.peer, frame)?.then(
      (outcome) => outcome && this.#settled(frame.doc, open, seq, outcome, answer),
      (error: unknown) => {
        // Anything else is a store failure, and the room has refused this document already.
        if (error instanceof ProtocolError) this.#socket.close(error.code, error.message)
      },
    )
  }

  #settled(doc: string, open: OpenDocument, seq: number, outcome: SyncOutcome, answer: Answer | undefined): void {
    if (this.#docs.get(doc) !== open) return
    if (outcome.kind === 'dropped' && !open.toldReadOnly) {
      open.toldReadOnly = true
      const message = 'read-only: your changes are not stored, forwarded or acknowledged'
      this.#socket.send(encodeNativeFrame({ type: 'notice', doc, code: closeCodes.forbidden, message }))
    }
    if (outcome.kind === 'refused') {
      this.options.logger.warn(
        { ...this.#socket.logFields, doc, seq, code: closeCodes[outcome.code], reason: outcome.reason },
        'refused a sync frame',
      )
      // Without a seq the frame cannot be answered on its own: close, as y-websocket mode does.
      if (!answer) this.#socket.close(outcome.code, outcome.reason)
    }
    if (!answer) return
    answer.outcome = outcome
    this.#answer(doc, open)
  }

  /** Answers the frames at the head of `open.answers` that are settled, in order; acks wait for a batch. */
  #answer(doc: string, open: OpenDocument): void {
    let committed = false
    for (let head = open.answers[0]; head?.outcome; head = open.answers[0]) {
      open.answers.shift()
      const { seq, outcome, receivedAt } = head
      if (outcome.kind === 'durable') {
        open.committedSeq = seq
        if (receivedAt !== undefined) open.unackedSince.push(receivedAt)
        committed = true
        continue
      }
      // Now, before the ack of any later frame covers it.
      const refused =
        outcome.kind === 'dropped'
          ? { code: closeCodes.forbidden, reason: 'read-only: this frame was not stored, forwarded or acknowledged' }
          : { code: closeCodes[outcome.code], reason: outcome.reason }
      this.#socket.send(encodeNativeFrame({ type: 'refused', doc, seq, ...refused }))
    }
    if (committed) this.#flushAcks()
  }

  #flushAcks(): void {
    if (this.#ackFlushQueued) return
    this.#ackFlushQueued = true
    // The appends of one commit resolve in one microtask run; acking after it sends one frame per document.
    queueMicrotask(() => {
      this.#ackFlushQueued = false
      const now = performance.now()
      for (const [doc, each] of this.#docs) {
        if (each.committedSeq > each.ackedSeq) {
          each.ackedSeq = each.committedSeq
          this.#socket.send(encodeNativeFrame({ type: 'ack', doc, seq: each.ackedSeq }))
        }
        const covered = each.unackedSince.splice(0)
        if (!this.#socket.isOpen) continue
        for (const receivedAt of covered) this.options.observer.updateAcknowledged?.((now - receivedAt) / 1000)
      }
    })
  }
}
