/**
 * Owns the relay's document HTTP API under /v1: read a document's state (as
 * a Yjs update, only what a state vector lacks, or as JSON), its state
 * vector, and write an update that is answered only once it is durable.
 * Every request goes through the authenticate hook (or the service key) and
 * a direct peer of the document's room, so it is admitted, stored and
 * forwarded exactly as a WebSocket client's update. Errors are JSON
 * `{ code, message }` with the close-code names.
 *
 *   GET  /v1/docs/{name}                  the state as a Yjs update (?stateVector=<base64url>: only what it lacks;
 *                                         ?format=json&types=<root>:<text|map|array|xml>,...: those roots as JSON)
 *   GET  /v1/docs/{name}/state-vector     the state vector
 *   POST /v1/docs/{name}/updates          body: a Yjs update; 200 once durable
 *   DELETE /v1/docs/{name}                deletes it for good (204 once the tombstone is durable)
 *   GET  /v1/docs?prefix=&cursor=&limit=  the documents the credentials may read: names, sizes, times
 *   .../versions...                       version history: see historyHttp.ts
 *
 * `{name}` is one path segment, percent-encoded (`/` as `%2F`).
 */
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { documentNameProblem, ProtocolError, type CloseCodeName } from '@concord/protocol'
import * as Y from 'yjs'
import { authorize, type Access, type Authenticate } from './auth.js'
import { bufferView, concatBytes, copyBytes } from './bytes.js'
import type { ClientAddressOf } from './clientAddress.js'
import { DirectPeer, DocumentUnavailableError } from './directPeer.js'
import type { DocStore } from './docStore.js'
import { answerHistory, historyRouteOf, HistoryHttpError, type HistoryCalls, type HistoryRoute } from './historyHttp.js'
import type { Logger } from './logger.js'
import type { Room } from './room.js'

export interface HttpApiOptions {
  readonly acquireRoom: (doc: string) => Room
  /** For listing documents. */
  readonly store: DocStore
  readonly deleteDocument: (name: string, options: { readonly by: string }) => Promise<void>
  readonly authenticate: Authenticate
  /** A bearer token with every right on every document, for backends. */
  readonly apiKey: string | undefined
  readonly logger: Logger
  readonly maxBodyBytes: number
  /** Requests per second from one address; more get 429. */
  readonly requestsPerSecond: number
  readonly clientAddressOf: ClientAddressOf
  readonly closing: () => boolean
  /** Version history: the relay's own calls. */
  readonly history: HistoryCalls
}

/** An answer that is not 200: an HTTP status and a code from the close-code table (or `notFound`). */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: CloseCodeName | 'notFound' | 'methodNotAllowed' | 'notImplemented' | HistoryHttpError['code'],
    message: string,
  ) {
    super(message)
  }
}

const statusOf: Partial<Record<CloseCodeName, number>> = {
  malformedMessage: 400,
  invalidDocumentName: 400,
  unauthenticated: 401,
  forbidden: 403,
  documentDeleted: 410,
  messageTooBig: 413,
  invalidUpdate: 422,
  rateLimited: 429,
  documentUnavailable: 503,
  goingAway: 503,
}

const httpErrorOf = (code: CloseCodeName, message: string): HttpError =>
  new HttpError(statusOf[code] ?? 500, code, message)

type Route =
  | { readonly resource: 'list' }
  | { readonly resource: 'state'; readonly doc: string }
  | { readonly resource: 'stateVector'; readonly doc: string }
  | { readonly resource: 'updates'; readonly doc: string }
  | { readonly resource: 'document'; readonly doc: string }
  | HistoryRoute

/** The document named by one path segment, percent-decoded and checked. */
const documentOf = (segment: string): string => {
  let doc: string
  try {
    doc = decodeURIComponent(segment)
  } catch {
    throw httpErrorOf('invalidDocumentName', 'the document name is not valid percent-encoded UTF-8')
  }
  const problem = documentNameProblem(doc)
  if (problem) throw httpErrorOf('invalidDocumentName', problem)
  return doc
}

const routeOf = (method: string, path: string): Route => {
  if (path === '/v1/docs') {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'methodNotAllowed', '/v1/docs takes GET')
    return { resource: 'list' }
  }
  const history = historyRouteOf(method, path, documentOf)
  if (history) return history
  const match = /^\/v1\/docs\/([^/]+)(\/state-vector|\/updates)?$/.exec(path)
  if (!match) throw new HttpError(404, 'notFound', `no such resource: ${method} ${path.slice(0, 200)}`)
  const doc = documentOf(match[1]!)
  const resource = match[2] === '/updates' ? 'updates' : match[2] === '/state-vector' ? 'stateVector' : 'state'
  if (resource === 'state' && method === 'DELETE') return { resource: 'document', doc }
  const allowed = resource === 'updates' ? 'POST' : 'GET'
  if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
    throw new HttpError(405, 'methodNotAllowed', `${path.slice(0, 200)} takes ${allowed}`)
  }
  return { resource, doc }
}

const bearerTokenOf = (request: IncomingMessage): string | undefined => {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer +(\S+) *$/i.exec(header)
  if (!match) throw httpErrorOf('unauthenticated', 'the Authorization header must be "Bearer <token>"')
  return match[1]
}

const sameSecret = (a: string, b: string): boolean => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

const readBody = (request: IncomingMessage, maxBytes: number): Promise<Uint8Array> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'])
    if (declared > maxBytes) {
      reject(httpErrorOf('messageTooBig', `the body is larger than ${maxBytes} bytes`))
      return
    }
    const chunks: Buffer[] = []
    let length = 0
    request.on('data', (chunk: Buffer) => {
      length += chunk.length
      if (length > maxBytes) {
        reject(httpErrorOf('messageTooBig', `the body is larger than ${maxBytes} bytes`))
        request.pause()
        return
      }
      chunks.push(chunk)
    })
    request.once('end', () => resolve(concatBytes(chunks)))
    request.once('error', reject)
  })

const base64urlOf = (bytes: Uint8Array): string => bufferView(bytes).toString('base64url')

const stateVectorParameter = (query: URLSearchParams): Uint8Array => {
  const value = query.get('stateVector')
  if (value === null) return new Uint8Array([0])
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw httpErrorOf('malformedMessage', 'stateVector must be base64url')
  return copyBytes(Buffer.from(value, 'base64url'))
}

const rootTypes = ['text', 'map', 'array', 'xml'] as const
type RootType = (typeof rootTypes)[number]

/** `?types=body:text,todos:array`: a Yjs update does not say which type a root is, so the caller names them. */
const rootsParameter = (query: URLSearchParams): Array<[string, RootType]> => {
  const value = query.get('types')
  if (!value) throw httpErrorOf('malformedMessage', 'format=json needs types=<root>:<text|map|array|xml>,...')
  return value.split(',').map((entry) => {
    const colon = entry.lastIndexOf(':')
    const [name, type] = [entry.slice(0, colon), entry.slice(colon + 1)]
    if (colon <= 0 || !(rootTypes as readonly string[]).includes(type)) {
      throw httpErrorOf('malformedMessage', `"${entry.slice(0, 100)}" is not <root>:<text|map|array|xml>`)
    }
    return [name, type as RootType]
  })
}

/** Yjs content JSON cannot hold as it is: a BigInt as its decimal string, bytes as base64url. */
const jsonReplacer = (_key: string, value: unknown): unknown => {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return base64urlOf(value)
  return value
}

const rootsAsJson = (update: Uint8Array, roots: Array<[string, RootType]>): string => {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
    const result: Record<string, unknown> = {}
    for (const [name, type] of roots) {
      const root =
        type === 'text'
          ? doc.getText(name)
          : type === 'map'
            ? doc.getMap(name)
            : type === 'array'
              ? doc.getArray(name)
              : doc.getXmlFragment(name)
      result[name] = type === 'xml' ? root.toString() : root.toJSON()
    }
    return JSON.stringify(result, jsonReplacer)
  } catch (error) {
    throw httpErrorOf('malformedMessage', `the document cannot be read with these types: ${(error as Error).message}`)
  } finally {
    doc.destroy()
  }
}

/** The most documents one page of GET /v1/docs lists. */
const maxListLimit = 1000

export type HttpApi = (request: IncomingMessage, response: ServerResponse) => boolean

export const createHttpApi = (options: HttpApiOptions): HttpApi => {
  const requestsThisSecond = new Map<string, number>()
  const resetCounts = setInterval(() => requestsThisSecond.clear(), 1000)
  resetCounts.unref()

  /** What the request's credentials grant on `doc`, and whom they name (`api` for the service key). */
  const accessOf = async (request: IncomingMessage, doc: string): Promise<{ access: Access; by: string }> => {
    const token = bearerTokenOf(request)
    if (token !== undefined && options.apiKey !== undefined && sameSecret(token, options.apiKey)) {
      return { access: 'write', by: 'api' }
    }
    const result = await authorize(options.authenticate, request, doc, token, options.logger)
    if ('denied' in result) throw httpErrorOf(result.denied, result.reason)
    return { access: result.access, by: result.subject ?? 'anonymous' }
  }

  /** Through a direct peer of the room: step 1 with `stateVector`, answered with what it lacks. */
  const readState = (doc: string, stateVector: Uint8Array): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      const peer = new DirectPeer(options.acquireRoom(doc), 'read', 'api', {
        step2: (update) => {
          peer.leave()
          resolve(update)
        },
        refused: (error) => reject(httpErrorOf(error.code, error.message)),
      })
      peer.send({ type: 'step1', stateVector }).catch((error: unknown) => {
        peer.leave()
        reject(error)
      })
    })

  const writeUpdate = async (doc: string, update: Uint8Array, by: string): Promise<void> => {
    const peer = new DirectPeer(options.acquireRoom(doc), 'write', by, {})
    try {
      await peer.send({ type: 'update', update })
    } finally {
      peer.leave()
    }
  }

  /** A page of the documents the request may read; a page may hold fewer than `limit` when some are not readable. */
  const listDocuments = async (request: IncomingMessage, query: URLSearchParams): Promise<string> => {
    const { store } = options
    if (!store.list) throw new HttpError(501, 'notImplemented', "this relay's store cannot list documents")
    const limitText = query.get('limit') ?? '100'
    const limit = Number(limitText)
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > maxListLimit) {
      throw httpErrorOf('malformedMessage', `limit must be a whole number from 1 to ${maxListLimit}`)
    }
    const cursor = query.get('cursor')
    if (cursor !== null && !/^[A-Za-z0-9_-]+$/.test(cursor)) throw httpErrorOf('malformedMessage', 'bad cursor')
    const after = cursor === null ? undefined : Buffer.from(cursor, 'base64url').toString()
    const page = await store.list({ prefix: query.get('prefix') ?? '', ...(after !== undefined && { after }), limit })
    const readable = await Promise.all(
      page.map(async (doc) => {
        try {
          await accessOf(request, doc.name)
          return true
        } catch (error) {
          if (error instanceof HttpError && error.code === 'forbidden') return false
          throw error
        }
      }),
    )
    const last = page.at(-1)
    return JSON.stringify({
      documents: page
        .filter((_, i) => readable[i])
        .map(({ name, bytes, updatedAt }) => ({
          name,
          bytes,
          updatedAt: updatedAt === undefined ? null : new Date(updatedAt).toISOString(),
        })),
      nextCursor: page.length === limit && last ? Buffer.from(last.name).toString('base64url') : null,
    })
  }

  const answer = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
    if (options.closing()) throw httpErrorOf('goingAway', 'the relay is shutting down')
    const route = routeOf(request.method ?? 'GET', url.pathname)
    const ip = options.clientAddressOf(request)
    const count = (requestsThisSecond.get(ip) ?? 0) + 1
    requestsThisSecond.set(ip, count)
    if (count > options.requestsPerSecond) {
      response.setHeader('retry-after', '1')
      throw httpErrorOf('rateLimited', `more than ${options.requestsPerSecond} requests per second from this address`)
    }
    if (route.resource === 'list') {
      const body = await listDocuments(request, url.searchParams)
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(request.method === 'HEAD' ? undefined : body + '\n')
      return
    }
    const { access, by } = await accessOf(request, route.doc)
    if (route.resource === 'history') {
      const readRequestBody = () => readBody(request, options.maxBodyBytes)
      const query = url.searchParams
      return answerHistory(options.history, { route, access, by, request, response, query, readBody: readRequestBody })
    }
    if (route.resource === 'document') {
      if (access !== 'write') throw httpErrorOf('forbidden', 'these credentials may only read this document')
      if (!options.store.remove)
        throw new HttpError(501, 'notImplemented', "this relay's store cannot delete documents")
      await options.deleteDocument(route.doc, { by })
      response.writeHead(204, { 'cache-control': 'no-store' }).end()
      return
    }
    if (route.resource === 'updates') {
      if (access !== 'write') throw httpErrorOf('forbidden', 'these credentials may only read this document')
      const update = await readBody(request, options.maxBodyBytes)
      await writeUpdate(route.doc, update, by)
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(JSON.stringify({ stored: true }) + '\n')
      return
    }
    const format = url.searchParams.get('format')
    if (format !== null && format !== 'json' && format !== 'update') {
      throw httpErrorOf('malformedMessage', 'format must be json or update')
    }
    const roots = format === 'json' ? rootsParameter(url.searchParams) : undefined
    const stateVector = route.resource === 'state' && !roots ? stateVectorParameter(url.searchParams) : undefined
    const state = await readState(route.doc, stateVector ?? new Uint8Array([0]))
    const [contentType, body] =
      route.resource === 'stateVector'
        ? ['application/octet-stream', Y.encodeStateVectorFromUpdate(state)]
        : roots
          ? ['application/json', rootsAsJson(state, roots)]
          : ['application/octet-stream', state]
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
    response.end(request.method === 'HEAD' ? undefined : body)
  }

  const fail = (response: ServerResponse, error: unknown, request: IncomingMessage): void => {
    let httpError: HttpError
    if (error instanceof HttpError) httpError = error
    else if (error instanceof ProtocolError) httpError = httpErrorOf(error.code, error.message)
    else if (error instanceof DocumentUnavailableError) httpError = httpErrorOf(error.code, error.message)
    else if (error instanceof HistoryHttpError) httpError = new HttpError(error.status, error.code, error.message)
    else {
      options.logger.error({ err: error, method: request.method }, 'unexpected error in the HTTP API')
      httpError = new HttpError(500, 'internalError', 'unexpected error in the relay')
    }
    options.logger.info(
      { method: request.method, status: httpError.status, code: httpError.code, ip: options.clientAddressOf(request) },
      'HTTP API request refused',
    )
    if (response.headersSent) {
      response.destroy()
      return
    }
    // A body the client is still sending would otherwise keep the connection busy.
    response.setHeader('connection', 'close')
    response.writeHead(httpError.status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    response.end(JSON.stringify({ code: httpError.code, message: httpError.message }) + '\n')
  }

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://relay')
    if (url.pathname !== '/v1' && !url.pathname.startsWith('/v1/')) return false
    answer(request, response, url).catch((error: unknown) => fail(response, error, request))
    return true
  }
}
