/**
 * Owns the version-history resources of the HTTP API (see httpApi.ts, which authenticates, limits
 * and answers errors for them, and docs/http-api.md):
 *
 *   GET  /v1/docs/{name}/versions?before=&limit=   the versions, newest first (read)
 *   POST /v1/docs/{name}/versions                  body {"label": "..."}: a named version (write)
 *   GET  /v1/docs/{name}/versions/{id}             that version's state, a Yjs update (read)
 *   POST /v1/docs/{name}/versions/{id}/restore     ?types=<root>:<kind>,...: restore it (write)
 *
 * Its errors are HistoryHttpErrors, which httpApi.ts answers like its own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Access } from './auth.js'
import type { VersionInfo, VersionQuery } from './docStore.js'
import type { RestoreOptions, VersionWithState } from './documentHistory.js'
import { DocumentDeletedError, HistoryUnavailableError, RootTypeError, VersionNotFoundError } from './errors.js'
import { rootKinds, type RootKind } from './restoreContent.js'

/** What the relay offers of history: its own calls (see Relay). */
export interface HistoryCalls {
  saveVersion(name: string, options: { readonly label: string }): Promise<VersionInfo>
  listVersions(name: string, query?: Partial<VersionQuery>): Promise<VersionInfo[]>
  loadVersion(name: string, id: string): Promise<VersionWithState>
  restoreVersion(name: string, id: string, options?: RestoreOptions): Promise<VersionInfo>
}

export type HistoryErrorCode = 'versionNotFound' | 'rootTypeUnknown' | 'notImplemented' | 'documentDeleted'

/** An answer of a history resource that is not 2xx; the code is the error's `code`. */
export class HistoryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HistoryErrorCode | 'malformedMessage' | 'forbidden' | 'methodNotAllowed',
    message: string,
  ) {
    super(message)
  }
}

export interface HistoryRoute {
  readonly resource: 'history'
  readonly doc: string
  readonly action: 'list' | 'save' | 'load' | 'restore'
  readonly id?: string
}

const pattern = /^\/v1\/docs\/([^/]+)\/versions(?:\/([^/]+)(\/restore)?)?$/

/** The history route of `path`, or undefined when it is none (the document is decoded and checked by the caller). */
export const historyRouteOf = (
  method: string,
  path: string,
  documentOf: (segment: string) => string,
): HistoryRoute | undefined => {
  const match = pattern.exec(path)
  if (!match) return undefined
  const doc = documentOf(match[1]!)
  const read = method === 'GET' || method === 'HEAD'
  const allowed = (ok: boolean, what: string, methods: string): void => {
    if (!ok) throw new HistoryHttpError(405, 'methodNotAllowed', `${what} takes ${methods}`)
  }
  if (match[2] === undefined) {
    if (method === 'POST') return { resource: 'history', doc, action: 'save' }
    allowed(read, '/versions', 'GET or POST')
    return { resource: 'history', doc, action: 'list' }
  }
  let id: string
  try {
    id = decodeURIComponent(match[2])
  } catch {
    throw new HistoryHttpError(404, 'versionNotFound', 'the version id is not valid percent-encoded UTF-8')
  }
  if (match[3] !== undefined) {
    allowed(method === 'POST', '/versions/{id}/restore', 'POST')
    return { resource: 'history', doc, action: 'restore', id }
  }
  allowed(read, '/versions/{id}', 'GET')
  return { resource: 'history', doc, action: 'load', id }
}

/** The most versions one page lists. */
const maxLimit = 1000

const jsonOf = (version: VersionInfo) => ({
  id: version.id,
  createdAt: new Date(version.createdAt).toISOString(),
  label: version.label ?? null,
  authors: version.authors,
  restoredFrom: version.restoredFrom ?? null,
  bytes: version.bytes,
})

const queryOf = (query: URLSearchParams): VersionQuery => {
  const limitText = query.get('limit') ?? '50'
  const limit = Number(limitText)
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > maxLimit) {
    throw new HistoryHttpError(400, 'malformedMessage', `limit must be a whole number from 1 to ${maxLimit}`)
  }
  const before = query.get('before')
  return before === null ? { limit } : { before, limit }
}

/** `?types=body:text,todos:array`, as for GET /v1/docs/{name}?format=json. */
const kindsOf = (query: URLSearchParams): Record<string, RootKind> => {
  const value = query.get('types')
  const kinds: Record<string, RootKind> = {}
  if (!value) return kinds
  for (const entry of value.split(',')) {
    const colon = entry.lastIndexOf(':')
    const [name, kind] = [entry.slice(0, colon), entry.slice(colon + 1)]
    if (colon <= 0 || !(rootKinds as readonly string[]).includes(kind)) {
      throw new HistoryHttpError(400, 'malformedMessage', `"${entry.slice(0, 100)}" is not <root>:<text|map|array|xml>`)
    }
    kinds[name] = kind as RootKind
  }
  return kinds
}

const labelOf = (body: Uint8Array): string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'))
  } catch {
    throw new HistoryHttpError(400, 'malformedMessage', 'the body must be JSON: {"label": "..."}')
  }
  const label = (parsed as { label?: unknown } | null)?.label
  if (typeof label !== 'string')
    throw new HistoryHttpError(400, 'malformedMessage', 'the body must hold a "label" string')
  return label
}

/** The relay's history errors as HTTP answers; any other error passes. */
const asHttpError = (error: unknown): unknown => {
  if (error instanceof VersionNotFoundError) return new HistoryHttpError(404, 'versionNotFound', error.message)
  if (error instanceof RootTypeError) return new HistoryHttpError(422, 'rootTypeUnknown', error.message)
  if (error instanceof HistoryUnavailableError) return new HistoryHttpError(501, 'notImplemented', error.message)
  if (error instanceof DocumentDeletedError) return new HistoryHttpError(410, 'documentDeleted', error.message)
  return error
}

export interface HistoryRequest {
  readonly route: HistoryRoute
  readonly access: Access
  readonly by: string
  readonly request: IncomingMessage
  readonly response: ServerResponse
  readonly query: URLSearchParams
  readonly readBody: () => Promise<Uint8Array>
}

const sendJson = (response: ServerResponse, status: number, body: unknown, head: boolean): void => {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(head ? undefined : JSON.stringify(body) + '\n')
}

/** Answers one history request whose credentials were checked (`access`); rejects with the error to answer. */
export const answerHistory = async (history: HistoryCalls, request: HistoryRequest): Promise<void> => {
  const { route, access, by, response, query } = request
  const head = request.request.method === 'HEAD'
  if ((route.action === 'save' || route.action === 'restore') && access !== 'write') {
    throw new HistoryHttpError(403, 'forbidden', 'these credentials may only read this document')
  }
  try {
    switch (route.action) {
      case 'list': {
        const page = queryOf(query)
        const versions = await history.listVersions(route.doc, page)
        const last = versions.at(-1)
        const nextCursor = versions.length === page.limit && last ? last.id : null
        return sendJson(response, 200, { versions: versions.map(jsonOf), nextCursor }, head)
      }
      case 'save': {
        const label = labelOf(await request.readBody())
        return sendJson(response, 201, jsonOf(await history.saveVersion(route.doc, { label })), false)
      }
      case 'load': {
        const version = await history.loadVersion(route.doc, route.id!)
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' })
        response.end(head ? undefined : version.state)
        return
      }
      case 'restore': {
        const restored = await history.restoreVersion(route.doc, route.id!, { by, kinds: kindsOf(query) })
        return sendJson(response, 200, jsonOf(restored), false)
      }
    }
  } catch (error) {
    throw asHttpError(error)
  }
}
