/**
 * Owns a client's version-history requests (history.ts) over the native protocol (`concord.v3`'s `request`,
 * `answer` and `failed` frames): numbering them, matching each answer to its promise, turning a
 * `failed` frame into a typed ConcordError, and rejecting what cannot be answered. A request is
 * never sent again: a save that reached the relay before the socket dropped would be saved twice,
 * so when the connection drops, every pending request rejects with `connectionLost` and the app
 * decides. Asked while the connection is not open (or the document not open on it yet), a request
 * rejects at once with `offline`; on a relay that only speaks `concord.v2`, with
 * `historyUnavailable`. The read-only Y.Doc of a loaded version is made here too.
 */
import {
  closeCodeName,
  nativeSubprotocolV3,
  type NativeFrame,
  type VersionRequest,
  type WireVersion,
} from '@concord/protocol/core'
import * as Y from 'yjs'
import { ConcordError, type ConcordErrorCode } from './errors.js'
import type { HistoryHost, HistoryListener } from './historyHost.js'

/** A version of a document, as the relay keeps it. */
export interface VersionInfo {
  readonly id: string
  /** When it was taken. */
  readonly createdAt: Date
  /** Named versions have one; automatic versions have none. */
  readonly label: string | undefined
  /** The token subjects who wrote since the previous version. */
  readonly authors: readonly string[]
  /** The id of the version a restore brought back, for the version that restore produced. */
  readonly restoredFrom: string | undefined
  /** The byte size of its state. */
  readonly bytes: number
}

/** The part of the relay connection requests go over. */
export type VersionLink = Pick<HistoryHost, 'subprotocol' | 'send'>

type Answer = Extract<NativeFrame, { type: 'answer' }>

interface Pending {
  readonly doc: string
  readonly resolve: (answer: Answer) => void
  readonly reject: (error: ConcordError) => void
}

/** The `error` names of failed frames that are ConcordError codes of their own. */
const namedCodes: readonly ConcordErrorCode[] = [
  'versionNotFound',
  'rootTypeUnknown',
  'historyUnavailable',
  'documentNotOpen',
]

export const versionInfoOf = (version: WireVersion): VersionInfo => ({
  id: version.id,
  createdAt: new Date(version.createdAt),
  label: version.label,
  authors: version.authors,
  restoredFrom: version.restoredFrom,
  bytes: version.bytes,
})

export class VersionRequests implements HistoryListener {
  readonly #pending = new Map<number, Pending>()
  #lastId = 0

  constructor(private readonly link: VersionLink) {}

  /** Sends `request` for `doc`, which must be open on the relay; resolves with the relay's answer. */
  ask(doc: string, request: VersionRequest): Promise<Answer> {
    const subprotocol = this.link.subprotocol
    if (subprotocol === undefined) {
      return Promise.reject(new ConcordError('offline', 'not connected to the relay: try again once online', doc))
    }
    if (subprotocol !== nativeSubprotocolV3) {
      const message = `the relay speaks ${subprotocol}, which has no version history (concord.v3 has)`
      return Promise.reject(new ConcordError('historyUnavailable', message, doc))
    }
    const id = ++this.#lastId
    return new Promise<Answer>((resolve, reject) => {
      this.#pending.set(id, { doc, resolve, reject })
      if (!this.link.send({ type: 'request', doc, id, request })) {
        this.#pending.delete(id)
        reject(new ConcordError('offline', 'not connected to the relay: try again once online', doc))
      }
    })
  }

  /** An `answer` or `failed` frame from the relay. */
  receive(frame: Extract<NativeFrame, { type: 'answer' | 'failed' }>): void {
    const pending = this.#pending.get(frame.id)
    if (!pending || pending.doc !== frame.doc) return
    this.#pending.delete(frame.id)
    if (frame.type === 'answer') {
      pending.resolve(frame)
      return
    }
    const code = (namedCodes as readonly string[]).includes(frame.error)
      ? (frame.error as ConcordErrorCode)
      : (closeCodeName(frame.code) ?? 'unknown')
    pending.reject(new ConcordError(code, frame.message, frame.doc, { closeCode: frame.code }))
  }

  /** The socket closed: nothing sent on it will be answered. */
  connectionLost(): void {
    this.#rejectWhere(() => true, 'connectionLost', 'the connection to the relay dropped before the answer came')
  }

  /** The handle of `doc` closed: its requests reject with `closed`. */
  documentClosed(doc: string): void {
    this.#rejectWhere((pending) => pending.doc === doc, 'closed', `document "${doc}" was closed`)
  }

  #rejectWhere(which: (pending: Pending) => boolean, code: ConcordErrorCode, message: string): void {
    for (const [id, pending] of this.#pending) {
      if (!which(pending)) continue
      this.#pending.delete(id)
      pending.reject(new ConcordError(code, message, pending.doc))
    }
  }
}

/**
 * A Y.Doc holding `state` that refuses local transactions: each one (an edit through any type)
 * throws a ConcordError `readOnly` before it changes anything. Updates applied with
 * `Y.applyUpdate` are not local and still apply.
 */
export const readOnlyDoc = (state: Uint8Array, what: string): Y.Doc => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  doc.on('beforeTransaction', (transaction) => {
    if (!transaction.local) return
    // Thrown before yjs's try block: undo what it set up, so that the doc stays usable.
    doc._transaction = null
    doc._transactionCleanups.pop()
    throw new ConcordError('readOnly', `${what} is read-only: edit the document, or restore the version`)
  })
  return doc
}
