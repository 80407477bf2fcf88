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

/** The document was deleted: a store refuses to load or append to it, for good. */
export class DocumentDeletedError extends Error {
  override readonly name = 'DocumentDeletedError'
  readonly code = 'documentDeleted'
  constructor(readonly doc: string) {
    super(`document "${doc}" was deleted`)
  }
}

/** The fan-out between relays (Redis) cannot be reached. */
export class FanoutUnavailableError extends Error {
  override readonly name = 'FanoutUnavailableError'
  readonly code = 'fanoutUnavailable'
}

/**
 * The thread that runs SqliteDocStore's database ended without being asked
 * to (an uncaught error, or it was terminated). Every call pending then, and
 * every later call, rejects with this; `cause` holds the worker's error, if any.
 */
export class StoreWorkerExitedError extends Error {
  override readonly name = 'StoreWorkerExitedError'
  readonly code = 'storeWorkerExited'
  constructor(exitCode: number | undefined, options?: ErrorOptions) {
    super(
      `the SQLite store's worker thread ended unexpectedly${exitCode === undefined ? '' : ` (exit code ${exitCode})`}`,
      options,
    )
  }
}

/**
 * A store call did not settle within the relay's `storeTimeoutMs`. The relay
 * then refuses the document (4503) and clients retry; the call itself may
 * still complete later, which loses nothing since nothing it carried was
 * acknowledged.
 */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError'
  readonly code = 'storeTimeout'
  constructor(operation: string, timeoutMs: number) {
    super(`the document store did not answer a ${operation} within ${timeoutMs} ms`)
  }
}

/**
 * The relay's version-state worker (versionStates.ts) could not compute a
 * version's state: it ended, the relay closed, or the document's updates did
 * not decode. The version is not taken; an automatic one is retried later.
 */
export class VersionStateError extends Error {
  override readonly name = 'VersionStateError'
  readonly code = 'versionStateFailed'
}

/** The document has no version of that id (it may be another document's). */
export class VersionNotFoundError extends Error {
  override readonly name = 'VersionNotFoundError'
  readonly code = 'versionNotFound'
  constructor(
    readonly doc: string,
    readonly id: string,
  ) {
    super(`document "${doc}" has no version "${id}"`)
  }
}

/** The relay keeps no history: its store has no `saveVersion`, or history was turned off. */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError'
  readonly code = 'historyUnavailable'
  constructor() {
    super('this relay keeps no version history (its store cannot keep versions, or history is off)')
  }
}

/**
 * A restore could not tell which type a top-level type of the document is (its content fits none,
 * or two), or was told one its content contradicts. Nothing was changed; name the root's type.
 */
export class RootTypeError extends Error {
  override readonly name = 'RootTypeError'
  readonly code = 'rootTypeUnknown'
  constructor(
    readonly root: string,
    readonly reason: string,
  ) {
    super(`top-level type "${root}": ${reason}`)
  }
}
