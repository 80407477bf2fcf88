/** Owns the error type every decoder in this package throws. */
import type { CloseCodeName } from './closeCodes.js'

/**
 * A message that cannot be decoded. `code` names the close code the receiver
 * should answer with: `malformedMessage` for framing, `invalidDocumentName` for
 * a bad name.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    readonly code: CloseCodeName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}
