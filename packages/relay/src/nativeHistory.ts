/**
 * Owns the version-history requests of a `concord.v3` connection (see @concord/protocol's
 * `request`, `answer` and `failed` frames): it checks the connection's rights to the document
 * (read for list and load, write for save and restore), runs the request through the relay's own
 * history calls (a restore is relay.restoreVersion: one forward edit through admission) and answers
 * with the same errors as the HTTP API, each a close code and a stable name. A request changes
 * nothing when it fails.
 */
import { closeCodes, encodeNativeFrame, ProtocolError, type NativeFrame, type WireVersion } from '@concord/protocol'
import type { Access } from './auth.js'
import type { VersionInfo } from './docStore.js'
import { DocumentDeletedError, HistoryUnavailableError, RootTypeError, VersionNotFoundError } from './errors.js'
import type { HistoryCalls } from './historyHttp.js'
import type { Logger } from './logger.js'

type RequestFrame = Extract<NativeFrame, { type: 'request' }>

/** Requests one connection may have running at once; one more fails at once (4429). */
export const maxRunningRequests = 16

/** The most versions one page lists, as over HTTP. */
const maxLimit = 1000

interface Failure {
  readonly code: number
  readonly error: string
  readonly message: string
}

export class HistoryRequestError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message)
  }
}

const wireVersionOf = (version: VersionInfo): WireVersion => ({
  id: version.id,
  createdAt: version.createdAt,
  authors: version.authors,
  bytes: version.bytes,
  ...(version.label !== undefined && { label: version.label }),
  ...(version.restoredFrom !== undefined && { restoredFrom: version.restoredFrom }),
})

/** The relay's history errors as failures; undefined for an unexpected one. */
const failureOf = (error: unknown): Failure | undefined => {
  if (error instanceof HistoryRequestError) return error.failure
  const { message } = error as Error
  if (error instanceof VersionNotFoundError) return { code: closeCodes.documentDeleted, error: error.code, message }
  if (error instanceof DocumentDeletedError)
    return { code: closeCodes.documentDeleted, error: 'documentDeleted', message }
  if (error instanceof RootTypeError) return { code: closeCodes.invalidUpdate, error: error.code, message }
  if (error instanceof HistoryUnavailableError) return { code: closeCodes.notImplemented, error: error.code, message }
  if (error instanceof ProtocolError) return { code: closeCodes[error.code], error: error.code, message }
  return undefined
}

export interface NativeHistoryOptions {
  /** Undefined when the relay was made without history calls: every request fails with historyUnavailable. */
  readonly history: HistoryCalls | undefined
  readonly send: (frame: Uint8Array) => void
  readonly logger: Logger
  readonly logFields: Record<string, unknown>
}

/** What the connection knows of the document a request names, once authorized. */
export interface GrantedDocument {
  readonly access: Access
  readonly subject: string | undefined
}

export class NativeHistory {
  #running = 0
  #closed = false

  constructor(private readonly options: NativeHistoryOptions) {}

  /** Answers `frame`'s request for a document granted as `granted`; never throws. */
  run(frame: RequestFrame, granted: GrantedDocument): void {
    if (this.#running >= maxRunningRequests) {
      const message = `no more than ${maxRunningRequests} history requests may run at once on one connection`
      this.fail(frame, { code: closeCodes.rateLimited, error: 'rateLimited', message })
      return
    }
    this.#running++
    this.#answer(frame, granted)
      .then(
        ({ versions, state }) => this.#send({ type: 'answer', doc: frame.doc, id: frame.id, versions, state }),
        (error: unknown) => {
          const failure = failureOf(error)
          if (failure) return this.fail(frame, failure)
          this.options.logger.error({ ...this.options.logFields, doc: frame.doc, err: error }, 'history request failed')
          this.fail(frame, { code: closeCodes.internalError, error: 'internalError', message: 'the relay failed' })
        },
      )
      .finally(() => this.#running--)
  }

  /** Answers request `frame` with `failure`. */
  fail(frame: RequestFrame, failure: Failure): void {
    this.#send({ type: 'failed', doc: frame.doc, id: frame.id, ...failure })
  }

  closed(): void {
    this.#closed = true
  }

  #send(frame: NativeFrame): void {
    if (!this.#closed) this.options.send(encodeNativeFrame(frame))
  }

  async #answer(
    { doc, request }: RequestFrame,
    { access, subject }: GrantedDocument,
  ): Promise<{ versions: WireVersion[]; state: Uint8Array }> {
    const { history } = this.options
    if (!history) throw new HistoryUnavailableError()
    const none = new Uint8Array(0)
    if ((request.op === 'saveVersion' || request.op === 'restoreVersion') && access !== 'write') {
      throw new HistoryRequestError({
        code: closeCodes.forbidden,
        error: 'forbidden',
        message: 'these credentials may only read this document',
      })
    }
    switch (request.op) {
      case 'saveVersion':
        return { versions: [wireVersionOf(await history.saveVersion(doc, { label: request.label }))], state: none }
      case 'listVersions': {
        const { before, limit } = request
        if (limit < 1 || limit > maxLimit) {
          throw new HistoryRequestError({
            code: closeCodes.malformedMessage,
            error: 'malformedMessage',
            message: `limit must be a whole number from 1 to ${maxLimit}`,
          })
        }
        const versions = await history.listVersions(doc, { ...(before !== undefined && { before }), limit })
        return { versions: versions.map(wireVersionOf), state: none }
      }
      case 'loadVersion': {
        const { state, ...version } = await history.loadVersion(doc, request.version)
        return { versions: [wireVersionOf(version)], state }
      }
      case 'restoreVersion': {
        const kinds = Object.fromEntries(request.kinds.map(({ root, kind }) => [root, kind]))
        const restored = await history.restoreVersion(doc, request.version, { by: subject ?? 'anonymous', kinds })
        return { versions: [wireVersionOf(restored)], state: none }
      }
    }
  }
}
