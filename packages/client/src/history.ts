/**
 * The entry point `@concord/client/history`: a document's version history
 * through its handle, `versionHistory(handle)`, over the client's native
 * connection (`concord.v3`'s history frames). An app that does not import it
 * does not ship it, nor the codec of those frames: this module sets that
 * codec on the client's wire when first asked, before the first request goes.
 *
 * Requests are versionRequests.ts's: never sent twice, rejected with
 * `connectionLost` when the socket drops first, with `offline` when the
 * document is not open on the relay.
 */
import type { VersionRequest, VersionRootKind } from '@concord/protocol/core'
import { historyFrameCodec } from '@concord/protocol/history'
import type * as Y from 'yjs'
import type { DocHandle } from './docHandle.js'
import { ConcordError } from './errors.js'
import type { HistoryHost } from './historyHost.js'
import { readOnlyDoc, versionInfoOf, VersionRequests, type VersionInfo } from './versionRequests.js'

export type { VersionInfo } from './versionRequests.js'
export type { VersionRootKind } from '@concord/protocol/core'

/** A document's version history, as the relay keeps it. */
export interface VersionHistory {
  /**
   * Saves a named version of the document as the relay holds it now: everything it stored so far
   * (after `whenSynced()`, this device's edits too). Needs write access; resolves with the version.
   * Rejects with a ConcordError: `forbidden` (read-only), `malformedMessage` (a label that is
   * empty or over 256 characters), `offline`, `connectionLost`, `historyUnavailable`...
   */
  saveVersion(label: string): Promise<VersionInfo>
  /**
   * The document's versions, newest first, `limit` (1-1000, default 50) at most. For the next
   * page, pass the last id as `before`; a page shorter than `limit` is the last. Read access.
   */
  versions(options?: { before?: string; limit?: number }): Promise<VersionInfo[]>
  /**
   * Version `id`'s content, as a new read-only Y.Doc: a local transaction on it (any edit) throws a
   * ConcordError `readOnly` and changes nothing. Read access. Rejects with `versionNotFound` when
   * the document has no such version.
   */
  version(id: string): Promise<Y.Doc>
  /**
   * Makes the document's content that of version `id`, on the relay: one forward edit that reaches
   * this handle and every other like any edit (edits made offline meanwhile merge after it), and a
   * new version "restored from <id>", which it resolves with. Needs write access. `kinds` names the
   * type of a top-level type whose content cannot tell (else `rootTypeUnknown`).
   */
  restore(id: string, options?: { kinds?: Readonly<Record<string, VersionRootKind>> }): Promise<VersionInfo>
}

/** The requests of each client, made on its first history request. */
const requestsOf = new WeakMap<HistoryHost, VersionRequests>()

const requestsThrough = (host: HistoryHost): VersionRequests => {
  let requests = requestsOf.get(host)
  if (!requests) {
    host.wire.history = historyFrameCodec
    requests = new VersionRequests(host)
    host.listener = requests
    requestsOf.set(host, requests)
  }
  return requests
}

const ask = (handle: DocHandle, request: VersionRequest): ReturnType<VersionRequests['ask']> => {
  const route = handle.historyRoute()
  const id = handle.id
  switch (route) {
    case 'closed':
      return Promise.reject(new ConcordError('closed', `document "${id}" was closed`, id))
    case 'deleted':
      return Promise.reject(new ConcordError('documentDeleted', `document "${id}" was deleted on the relay`, id))
    case 'unavailable': {
      const message = 'version history needs the native protocol; the y-websocket wire has none'
      return Promise.reject(new ConcordError('historyUnavailable', message, id))
    }
    case 'offline': {
      const message = `"${id}" is not open on the relay (status: ${handle.status}): try again once online`
      return Promise.reject(new ConcordError('offline', message, id))
    }
    default:
      return requestsThrough(route).ask(id, request)
  }
}

/** The version history of `handle`'s document. */
export const versionHistory = (handle: DocHandle): VersionHistory => ({
  async saveVersion(label) {
    const { versions } = await ask(handle, { op: 'saveVersion', label })
    return versionInfoOf(versions[0]!)
  },
  async versions({ before, limit = 50 } = {}) {
    const { versions } = await ask(handle, { op: 'listVersions', before, limit })
    return versions.map(versionInfoOf)
  },
  async version(id) {
    const { state } = await ask(handle, { op: 'loadVersion', version: id })
    return readOnlyDoc(state, `version "${id}" of "${handle.id}"`)
  },
  async restore(id, { kinds = {} } = {}) {
    const request: VersionRequest = {
      op: 'restoreVersion',
      version: id,
      kinds: Object.entries(kinds).map(([root, kind]) => ({ root, kind })),
    }
    const { versions } = await ask(handle, request)
    return versionInfoOf(versions[0]!)
  },
})
