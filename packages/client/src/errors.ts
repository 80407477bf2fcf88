/**
 * Owns the client's typed errors, each with a stable string `code`.
 *
 * ConcordError is what the client reports on its `error` events. Its codes
 * from the relay are the names of its close codes (`closeCodes` in
 * @concord/protocol: `documentUnavailable`, `forbidden`, ...); the client
 * adds the ConnectionError codes below, `closed` (the handle or client was
 * closed) and `store` (the device store failed).
 *
 * ConnectionError comes from the connection to the relay:
 *
 *   noWebSocket          no WebSocket constructor was given and the environment has none (Node 20)
 *   connectFailed        the WebSocket constructor threw (a malformed URL, a blocked port)
 *   unsupportedProtocol  the server did not select the `concord.v2` subprotocol
 *   malformedMessage     the relay sent a frame that does not decode
 *   tokenFailed          the `auth` token source threw or rejected
 *
 * StoreClosedError (`storeClosed`) comes from a LocalStore used after close.
 */
import { closeCodeName, type CloseCodeName } from '@concord/protocol'

export type ConcordErrorCode = CloseCodeName | ConnectionErrorCode | 'closed' | 'store' | 'unknown'

export class ConcordError extends Error {
  override readonly name = 'ConcordError'
  constructor(
    readonly code: ConcordErrorCode,
    message: string,
    /** The document it concerns, when it concerns one. */
    readonly doc?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }

  /** The error for a close code or error-frame code the relay sent. */
  static fromRelay(code: number, reason: string, doc?: string): ConcordError {
    return new ConcordError(closeCodeName(code) ?? 'unknown', reason || `the relay sent code ${code}`, doc)
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
