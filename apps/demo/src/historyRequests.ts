/**
 * Owns the demo's calls to the relay's version history over its HTTP API
 * (docs/http-api.md, "Version history"): list, save, load and restore a
 * version of one document. The page's relay is its own origin, and the
 * demo's relay is open (no JWT key), so requests carry no credentials; a
 * relay that wants them answers 401 and the panel says so. What the relay
 * answers is checked for its shape before it is used, like any input.
 */

/** A version as the panel shows it. */
export interface Version {
  readonly id: string
  /** Milliseconds since the epoch. */
  readonly createdAt: number
  /** `null` for an automatic version. */
  readonly label: string | null
  /** The token subjects who wrote since the version before it. */
  readonly authors: readonly string[]
  /** The id of the version a restore brought back, if this version records one. */
  readonly restoredFrom: string | null
  readonly bytes: number
}

/** A history request that did not succeed: the relay's error `code` (see the HTTP API's table), or `unreachable`. */
export class HistoryRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'HistoryRequestError'
  }
}

/** The top-level types of the demo's documents, named for a restore as the Export link names them. */
export const documentTypes = 'body:text,todos:array'

const versionsUrl = (doc: string): string => `/v1/docs/${encodeURIComponent(doc)}/versions`
const versionUrl = (doc: string, id: string): string => `${versionsUrl(doc)}/${encodeURIComponent(id)}`

const isStringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string'

/** The version `value` stands for, or undefined when it is not one. */
export const versionOf = (value: unknown): Version | undefined => {
  if (typeof value !== 'object' || value === null) return undefined
  const { id, createdAt, label, authors, restoredFrom, bytes } = value as Record<string, unknown>
  const time = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN
  if (typeof id !== 'string' || id === '' || !Number.isFinite(time)) return undefined
  if (!isStringOrNull(label) || !isStringOrNull(restoredFrom) || typeof bytes !== 'number') return undefined
  if (!Array.isArray(authors) || !authors.every((author) => typeof author === 'string')) return undefined
  return { id, createdAt: time, label, authors: authors as string[], restoredFrom, bytes }
}

/** The versions of a `GET .../versions` answer; throws when it is not one. */
export const versionsOf = (body: unknown): { versions: Version[]; nextCursor: string | null } => {
  const { versions, nextCursor } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (!Array.isArray(versions) || !isStringOrNull(nextCursor ?? null)) {
    throw new HistoryRequestError('malformedAnswer', 'the relay answered something that is not a list of versions')
  }
  const parsed = versions.map(versionOf)
  if (parsed.some((version) => version === undefined)) {
    throw new HistoryRequestError('malformedAnswer', 'the relay listed a version of the wrong shape')
  }
  return { versions: parsed as Version[], nextCursor: (nextCursor as string | null | undefined) ?? null }
}

/** The error a failed answer stands for: the relay's `{code, message}` when it sent one. */
const failureOf = async (response: Response): Promise<HistoryRequestError> => {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    // Not the relay's JSON (a proxy's page, say): the status says what there is to say.
  }
  const { code, message } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  return new HistoryRequestError(
    typeof code === 'string' ? code : `http${response.status}`,
    typeof message === 'string' ? message : `the relay answered ${response.status} ${response.statusText}`.trim(),
    response.status,
  )
}

const request = async (url: string, init?: RequestInit): Promise<Response> => {
  let response: Response
  try {
    response = await fetch(url, { cache: 'no-store', ...init })
  } catch {
    throw new HistoryRequestError('unreachable', 'the relay cannot be reached')
  }
  if (!response.ok) throw await failureOf(response)
  return response
}

const jsonRequest = async (url: string, init?: RequestInit): Promise<unknown> => {
  const response = await request(url, init)
  try {
    return (await response.json()) as unknown
  } catch {
    throw new HistoryRequestError('malformedAnswer', 'the relay answered something that is not JSON')
  }
}

const versionAnswer = (body: unknown): Version => {
  const version = versionOf(body)
  if (!version) throw new HistoryRequestError('malformedAnswer', 'the relay answered a version of the wrong shape')
  return version
}

/** The newest versions of `doc`, newest first. */
export const listVersions = async (doc: string, limit = 50) =>
  versionsOf(await jsonRequest(`${versionsUrl(doc)}?limit=${limit}`))

/** Takes a named version of everything the relay has stored of `doc`. */
export const saveVersion = async (doc: string, label: string): Promise<Version> =>
  versionAnswer(
    await jsonRequest(versionsUrl(doc), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ label }),
    }),
  )

/** The state of version `id` of `doc`: one Yjs update. */
export const loadVersion = async (doc: string, id: string): Promise<Uint8Array> =>
  new Uint8Array(await (await request(versionUrl(doc, id))).arrayBuffer())

/** Makes the content of `doc` that of version `id`; resolves with the version that records the restore. */
export const restoreVersion = async (doc: string, id: string): Promise<Version> =>
  versionAnswer(
    await jsonRequest(`${versionUrl(doc, id)}/restore?types=${encodeURIComponent(documentTypes)}`, { method: 'POST' }),
  )
