/**
 * Owns the relay's error types. Each has a stable string `code` that the
 * README lists; errors from the store itself (better-sqlite3's SqliteError,
 * say) pass through with their own codes.
 */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  readonly code = 'storeClosed'
  constructor() {
    super('the document store is closed')
  }
}

/** The fan-out between relays (Redis) cannot be reached. */
export class FanoutUnavailableError extends Error {
  override readonly name = 'FanoutUnavailableError'
  readonly code = 'fanoutUnavailable'
}
