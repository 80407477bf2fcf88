/**
 * Owns the numbers both sides agree on when something goes wrong: the
 * WebSocket close codes the relay uses, which double as the codes of native
 * `error` and `notice` frames. 1000-1015 are RFC 6455's; 4000-4999 are
 * Concord's own, numbered after the closest HTTP status.
 */
export const closeCodes = {
  /** The connection ended normally. */
  normal: 1000,
  /** The relay is shutting down or restarting; reconnect with backoff. */
  goingAway: 1001,
  /** A WebSocket framing error (bad RSV bits, bad opcode, unmasked frame); set by `ws`. */
  protocolError: 1002,
  /** A text frame: both wire modes are binary only. */
  unsupportedData: 1003,
  /** Invalid UTF-8 in a text frame; set by `ws`. */
  invalidPayload: 1007,
  /** A frame larger than the relay's `maxPayload`; set by `ws`. */
  messageTooBig: 1009,
  /** An unexpected error inside the relay. */
  internalError: 1011,
  /** A truncated or undecodable message, an unknown message type, or a frame out of order. */
  malformedMessage: 4400,
  /** No valid credentials, or they expired. */
  unauthenticated: 4401,
  /** The credentials do not grant this document. */
  forbidden: 4403,
  /** The document was deleted, and its name is never served again: a client drops its copy. */
  documentDeleted: 4404,
  /** A document name that is empty, longer than 256 characters, or has control characters. */
  invalidDocumentName: 4410,
  /** Bytes that do not decode as a Yjs update, or an awareness update that is not valid. */
  invalidUpdate: 4422,
  /** Over a limit: too many documents open on one connection, or too many frames waiting for authorization. */
  rateLimited: 4429,
  /** The relay does not do what was asked: it keeps no version history (a `failed` frame's code). */
  notImplemented: 4501,
  /** The relay could not load the document from its store; it refuses rather than serve a blank. */
  documentUnavailable: 4503,
  /**
   * The peer did not read what the relay sent and its send buffer passed the
   * cap. Logged by the relay; the peer, not reading, sees an abnormal closure.
   */
  slowReader: 4508,
} as const

export type CloseCodeName = keyof typeof closeCodes
export type CloseCode = (typeof closeCodes)[CloseCodeName]

const namesByCode = new Map<number, CloseCodeName>(
  Object.entries(closeCodes).map(([name, code]) => [code, name as CloseCodeName]),
)

/** The name of a close code from the table, or undefined for codes Concord does not define. */
export const closeCodeName = (code: number): CloseCodeName | undefined => namesByCode.get(code)
