/**
 * Owns a connection in native mode (`concord.v1`): any number of documents
 * over one socket, opened and closed by the client, and durable acks. Each
 * sync frame a client sends with a sequence number is acknowledged once it
 * is stored; acks are batched to one frame per document per commit.
 */
import {
  closeCodes,
  decodeNativeFrame,
  documentNameProblem,
  encodeNativeFrame,
  ProtocolError,
  type NativeFrame,
} from '@concord/protocol'
import type { Logger } from './logger.js'
import type { RelaySocket } from './relaySocket.js'
import type { Room, RoomPeer } from './room.js'

interface OpenDocument {
  readonly room: Room
  readonly peer: RoomPeer
  /** The highest sequence number the client sent. */
  lastSeq: number
  /** The highest sequence number known durable, and the highest acknowledged. */
  committedSeq: number
  ackedSeq: number
}

export class NativeConnection {
  readonly #docs = new Map<string, OpenDocument>()
  #ackFlushQueued = false

  constructor(
    private readonly socket: RelaySocket,
    private readonly acquireRoom: (doc: string) => Room,
    private readonly logger: Logger,
  ) {}

  /** Throws a ProtocolError for a frame that is malformed or out of order. */
  receive(bytes: Uint8Array): void {
    const frame = decodeNativeFrame(bytes)
    switch (frame.type) {
      case 'open':
        return this.#open(frame.doc)
      case 'close': {
        const open = this.#docs.get(frame.doc)
        this.#docs.delete(frame.doc)
        open?.room.leave(open.peer)
        return
      }
      case 'sync':
      case 'awareness':
      case 'queryAwareness':
        return this.#receiveForDocument(frame)
      case 'ping':
        this.socket.send(encodeNativeFrame({ type: 'pong', doc: '', id: frame.id }))
        return
      case 'pong':
        return
      case 'ack':
      case 'error':
      case 'notice':
        throw new ProtocolError('malformedMessage', `${frame.type} frames are sent by the relay only`)
    }
  }

  closed(): void {
    for (const { room, peer } of this.#docs.values()) room.leave(peer)
    this.#docs.clear()
  }

  #open(doc: string): void {
    const problem = documentNameProblem(doc)
    if (problem) {
      this.socket.send(encodeNativeFrame({ type: 'error', doc, code: closeCodes.invalidDocumentName, reason: problem }))
      return
    }
    if (this.#docs.has(doc)) throw new ProtocolError('malformedMessage', `document "${doc}" is already open`)
    const room = this.acquireRoom(doc)
    const peer: RoomPeer = {
      mode: 'native',
      send: (frame) => this.socket.send(frame),
      refuse: (code, reason) => {
        if (this.#docs.get(doc)?.peer !== peer) return
        this.#docs.delete(doc)
        this.socket.send(encodeNativeFrame({ type: 'error', doc, code: closeCodes[code], reason }))
      },
    }
    this.#docs.set(doc, { room, peer, lastSeq: 0, committedSeq: 0, ackedSeq: 0 })
    room.join(peer)
  }

  #receiveForDocument(frame: Extract<NativeFrame, { type: 'sync' | 'awareness' | 'queryAwareness' }>): void {
    const open = this.#docs.get(frame.doc)
    if (!open) {
      // The relay may have refused the document while this frame was on its way; the error frame tells the client.
      this.logger.debug({ ...this.socket.logFields, doc: frame.doc }, 'frame for a document that is not open')
      return
    }
    const seq = frame.type === 'sync' ? frame.seq : 0
    if (seq > 0) {
      if (seq <= open.lastSeq) {
        throw new ProtocolError(
          'malformedMessage',
          `sequence number ${seq} of "${frame.doc}" is not above ${open.lastSeq}`,
        )
      }
      open.lastSeq = seq
    }
    const durable = open.room.receive(open.peer, frame)
    durable?.then(
      () => seq > 0 && this.#committed(open, seq),
      (error: unknown) => {
        // Anything else is a store failure, and the room has refused this document already.
        if (error instanceof ProtocolError) this.socket.close(error.code, error.message)
      },
    )
  }

  #committed(open: OpenDocument, seq: number): void {
    open.committedSeq = Math.max(open.committedSeq, seq)
    if (this.#ackFlushQueued) return
    this.#ackFlushQueued = true
    // The appends of one commit resolve in one microtask run; acking after it sends one frame per document.
    queueMicrotask(() => {
      this.#ackFlushQueued = false
      for (const [doc, each] of this.#docs) {
        if (each.committedSeq <= each.ackedSeq) continue
        each.ackedSeq = each.committedSeq
        this.socket.send(encodeNativeFrame({ type: 'ack', doc, seq: each.ackedSeq }))
      }
    })
  }
}
