/**
 * Owns the client's typed errors, each with a stable string `code`.
 *
 * ConcordError is what the client reports on its `error` events. Its codes
 * from the relay are the names of its close codes (`closeCodes` in
 * @concord/protocol: `documentUnavailable`, `forbidden`, ...); the client
 * adds the ConnectionError codes below and:
 *
 *   closed            the handle or client was closed
 *   store             the device store failed (a write is retried, and the edit still goes to the relay)
 *   storeUnavailable  there is no device store (IndexedDB blocked or missing): documents live in memory
 *   notSaved          `destroy()` ended with edits that neither the device store nor the relay has
 *   refused           the relay refused a sync frame (`closeCode` says why: 4403 read-only, 4422 invalid);
 *                     its edits stay pending and are sent again on the next connection
 *   clocksTaken       another writer took the clocks this device wrote its edits under (a clock squat):
 *                     the handle forked to a new doc with the edits under a new client id (`replaced`)
 *   documentDeleted   the relay deleted the document (4404): the handle emits `deleted`, and
 *                     `whenSynced()` rejects with this
 *   observer          an observer of the app threw while the client applied an update; the update is
 *                     applied and the sync carries on
 *   moduleUnavailable code the client loads with `import()` on first use could not be loaded (a chunk
 *                     the server no longer has after a deploy, the network): the y-websocket wire of
 *                     `protocol: 'y-websocket'` (reported on the client's `error` event; the document
 *                     stays offline), or version history for the handle's history calls (they reject)
 *
 * The version-history calls (a handle's, or those of `versionHistory(handle)` from
 * `@concord/client/history`) reject with these, or with the close code name the relay failed the
 * request with (`forbidden` for a read-only save or restore, `malformedMessage` for a bad label or
 * limit, `rateLimited`, `documentDeleted`, `internalError`):
 *
 *   offline             the connection is not open, or the document is not open on it yet: nothing was sent
 *   connectionLost      the connection dropped before the answer came; the request may or may not have run
 *   historyUnavailable  the relay keeps no history, or speaks only `concord.v2`, or this is y-websocket mode
 *   versionNotFound     the document has no such version (another document's id included)
 *   rootTypeUnknown     a restore could not tell a top-level type's type: name it in `kinds`
 *   documentNotOpen     the relay got the request for a document it had not opened for this connection
 *   readOnly            a local transaction on the Y.Doc of `handle.version(id)`
 *
 * ConnectionError comes from the connection to the relay:
 *
 *   noWebSocket          no WebSocket constructor was given and the environment has none (Node 20)
 *   connectFailed        the WebSocket constructor threw (a malformed URL, a blocked port)
 *   unsupportedProtocol  the server selected neither `concord.v3` nor `concord.v2`
 *   malformedMessage     the relay sent a frame that does not decode
 *   tokenFailed          the `auth` token source threw or rejected
 *
 * StoreClosedError (`storeClosed`) comes from a LocalStore used after close.
 */
import { closeCodeName, type CloseCodeName } from '@concord/protocol/core'

export type ConcordErrorCode =
  | CloseCodeName
  | ConnectionErrorCode
  | 'closed'
  | 'store'
  | 'storeUnavailable'
  | 'notSaved'
  | 'refused'
  | 'clocksTaken'
  | 'observer'
  | 'offline'
  | 'connectionLost'
  | 'historyUnavailable'
  | 'versionNotFound'
  | 'rootTypeUnknown'
  | 'documentNotOpen'
  | 'readOnly'
  | 'moduleUnavailable'
  | 'unknown'

export interface ConcordErrorOptions extends ErrorOptions {
  /** The relay's close code behind the error, when there is one. */
  readonly closeCode?: number | undefined
}

export class ConcordError extends Error {
  override readonly name = 'ConcordError'
  /** The relay's close code behind the error (for `refused`: 4403 read-only, 4422 invalid), when there is one. */
  readonly closeCode: number | undefined
  constructor(
    readonly code: ConcordErrorCode,
    message: string,
    /** The document it concerns, when it concerns one. */
    readonly doc?: string,
    options?: ConcordErrorOptions,
  ) {
    super(message, options)
    this.closeCode = options?.closeCode
  }

  /** The error for a close code or error-frame code the relay sent. */
  static fromRelay(code: number, reason: string, doc?: string): ConcordError {
    return new ConcordError(closeCodeName(code) ?? 'unknown', reason || `the relay sent code ${code}`, doc, {
      closeCode: code,
    })
  }
}

export type ConnectionErrorCode =
  'noWebSocket' | 'connectFailed' | 'unsupportedProtocol' | 'malformedMessage' | 'tokenFailed'

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError'
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  readonly code = 'storeClosed'
  constructor(message = 'the local store is closed') {
    super(message)
  }
}
