/**
 * Owns what an app holds of one open document: its Y.Doc and Awareness, its
 * sync status, pending edits and storage state, the promises `whenLoaded`
 * and `whenSynced`, and `close()`. The work is done by the document's local
 * log (the device store, pending edits) and its sync (the relay); this module
 * wires them to each other, to the other tabs, and to the app.
 *
 * Version history is `@concord/client/history`'s (history.ts): the handle
 * says where its requests may go (`historyRoute`), and its own history calls
 * (saveVersion, versions, version, restore) load that module with `import()`
 * on first use and delegate to it, so the page does not load it up front.
 *
 * The status is one function of explicit state: the connection and whether
 * the relay's state arrived (the sync's), and how many edits are pending (the
 * log's). See syncStatus.ts.
 */
import { decodeAwarenessUpdate, type VersionRootKind } from '@concord/protocol/core'
import { ObservableV2 } from 'lib0/observable'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import * as Y from 'yjs'
import type { BackoffOptions } from './backoff.js'
import { DocSync, isForeignAwarenessOrigin, type RelayLink, type TakenClocks } from './docSync.js'
import { onDocUpdate } from './docUpdates.js'
import { ConcordError } from './errors.js'
import type { VersionHistory } from './history.js'
import type { HistoryHost } from './historyHost.js'
import { LocalLog, type StorageState } from './localLog.js'
import type { LocalStore } from './localStore.js'
import { fromHandover, fromRelay, fromStore, fromTab } from './origins.js'
import { syncStatusOf, type SyncStatus } from './syncStatus.js'
import type { TabLink } from './tabChannel.js'
import type { VersionInfo } from './versionRequests.js'

export type { RelayLink } from './docSync.js'
export type { StorageState } from './localLog.js'

export interface DocHandleEvents {
  status: (status: SyncStatus) => void
  pending: (pending: number) => void
  /** The device store's state for this document changed: `ok`, `failing` or `unavailable`. */
  storage: (storage: StorageState) => void
  /**
   * The document was deleted on the relay (4404), for good: it is no longer
   * synced, its pending edits are dropped, and (unless the client keeps
   * deleted documents) its copy on this device is removed.
   */
  deleted: () => void
  /**
   * `doc` (and `awareness`) were replaced: another writer took this
   * replica's clocks (a squat, see clockFork.ts), so its edits were moved to
   * a new client id in a new Y.Doc, which holds everything the old one did
   * and what the relay holds. Bind editors and observers to `doc` again; the
   * previous doc is no longer synced. An `error` with code `clocksTaken`
   * comes with it.
   */
  replaced: (doc: Y.Doc, previous: Y.Doc) => void
  error: (error: ConcordError) => void
}

interface SyncWaiter {
  /** The last edit it waits for; Infinity until a replaced log has loaded (see `replaceParts`). */
  ordinal: number
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/** @internal The parts a handle's document is made of, which a fork replaces. */
export interface DocumentParts {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly log: LocalLog
  readonly sync: DocSync
}

/** @internal What the client hands a handle: its document's parts. */
export interface DocHandleParts {
  readonly id: string
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly log: LocalLog
  readonly sync: DocSync
  readonly tabs: TabLink | undefined
  /** Where version-history requests go; undefined with a wire of a socket per document (y-websocket), which has none. */
  readonly history: HistoryHost | undefined
  /** Called once, at `close()`, with what the log hands over once its writes are done. */
  readonly onClose: (handover: Promise<readonly Uint8Array[]>) => void
}

/**
 * history.ts's `versionHistory`, once a history call of a handle loaded it: later calls reach it
 * within the call, as when it was part of the handle (a request goes out before the call returns).
 */
let loadedHistory: ((handle: DocHandle) => VersionHistory) | undefined

/** Loads history.ts; a chunk that cannot be fetched rejects as a ConcordError `moduleUnavailable`. */
const loadHistory = async (doc: string): Promise<(handle: DocHandle) => VersionHistory> => {
  try {
    const { versionHistory } = await import('./history.js')
    return (loadedHistory = versionHistory)
  } catch (cause) {
    throw new ConcordError('moduleUnavailable', 'the version-history code could not be loaded', doc, { cause })
  }
}

export class DocHandle extends ObservableV2<DocHandleEvents> {
  readonly id: string
  #doc: Y.Doc
  #awareness: Awareness
  #log: LocalLog
  #sync: DocSync
  readonly #tabs: TabLink | undefined
  readonly #history: HistoryHost | undefined
  readonly #onClose: DocHandleParts['onClose']
  #status: SyncStatus
  #pending: number
  #storage: StorageState
  #syncWaiters: SyncWaiter[] = []
  #closing: Promise<void> | undefined
  #deleted = false
  #stopHearing: () => void

  /** @internal Documents are opened with `client.open(id)`. */
  static fromParts(parts: DocHandleParts): DocHandle {
    return new DocHandle(parts)
  }

  /** Documents are opened with `client.open(id)`. */
  private constructor(parts: DocHandleParts) {
    super()
    this.id = parts.id
    this.#doc = parts.doc
    this.#awareness = parts.awareness
    this.#log = parts.log
    this.#sync = parts.sync
    this.#tabs = parts.tabs
    this.#history = parts.history
    this.#onClose = parts.onClose
    this.#status = this.#currentStatus()
    this.#pending = this.#log.pending
    this.#storage = this.#log.storage
    this.#stopHearing = onDocUpdate(this.#doc, this.#onDocUpdate)
    this.#awareness.on('update', this.#onAwarenessUpdate)
  }

  /** The document. A fork replaces it (see the `replaced` event): read it here, never keep it. */
  get doc(): Y.Doc {
    return this.#doc
  }

  /** The document's presence; replaced with `doc`. */
  get awareness(): Awareness {
    return this.#awareness
  }

  get status(): SyncStatus {
    return this.#status
  }

  /** The relay deleted the document (see the `deleted` event). */
  get deleted(): boolean {
    return this.#deleted
  }

  /** Local edits not yet acknowledged as durable by the relay (stored on this device or not). */
  get pending(): number {
    return this.#log.pending
  }

  /**
   * The device store for this document: `ok`; `failing` (a write failed:
   * "changes not saved on this device"; they stay in memory, are retried,
   * and still go to the relay); `unavailable` (no device store at all: the
   * document lives in memory and on the relay).
   */
  get storage(): StorageState {
    return this.#log.storage
  }

  /** Updates of this document the device store does not have yet (their writes failed and are retried). */
  get unsaved(): number {
    return this.#log.unsaved
  }

  /** @internal Whether leaving now could lose or delay an edit: one is being written, unsaved, or pending. */
  get unsynced(): boolean {
    return this.#log.pending > 0 || this.#log.writing
  }

  /**
   * Resolves once the stored state is applied to `doc`. Never rejects: when
   * the device store cannot be read, it resolves with `doc` as the relay
   * fills it, `storage` says why, and an `error` event told the app.
   */
  whenLoaded(): Promise<void> {
    return this.#log.whenLoaded()
  }

  /**
   * Resolves once every local edit made before the call is durable on the
   * relay (acknowledged; stored on this device or not), and the relay's state
   * has been received on the current connection. Waits across reconnects;
   * rejects only when the handle is closed first (code `closed`) or the
   * document was deleted on the relay (`documentDeleted`).
   */
  whenSynced(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      if (this.#deleted) reject(this.#deletedError())
      else this.#syncWaiters.push({ ordinal: this.#log.lastOrdinal, resolve, reject })
    })
    // Callers that never await it must not see an unhandled rejection when the handle closes.
    promise.catch(() => {})
    this.#settleSyncWaiters()
    return promise
  }

  /**
   * Stops syncing this document: tells the others this client left, and
   * releases the handle; it sends nothing more. Resolves once every edit made
   * through it is written to the device store (or, if the store failed, handed
   * to the next handle of the document, or reported by `client.destroy()`).
   * Stored data stays; the edits not yet on the relay go there when the
   * document is next opened.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing
    this.withdrawPresence()
    this.#sync.close()
    this.#stopHearing()
    this.#awareness.off('update', this.#onAwarenessUpdate)
    this.#awareness.destroy()
    const error = new ConcordError('closed', `document "${this.id}" was closed`, this.id)
    for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(error)
    this.#history?.listener?.documentClosed(this.id)
    const handover = this.#log.close()
    this.#onClose(handover)
    this.#closing = handover.then(() => {})
    return this.#closing
  }

  /**
   * @internal For `@concord/client/history`: the client's host to send this document's requests
   * through, or why none may go now.
   */
  historyRoute(): HistoryHost | 'closed' | 'deleted' | 'unavailable' | 'offline' {
    if (this.#closing) return 'closed'
    if (this.#deleted) return 'deleted'
    if (!this.#history) return 'unavailable'
    return this.#sync.openOnRelay ? this.#history : 'offline'
  }

  /**
   * Saves a named version of the document as the relay holds it now: everything it stored so far
   * (after `whenSynced()`, this device's edits too). Needs write access; resolves with the version.
   * Rejects with a ConcordError: `forbidden` (read-only), `malformedMessage` (a label that is
   * empty or over 256 characters), `offline`, `connectionLost`, `historyUnavailable`...
   * The same as `versionHistory(handle).saveVersion(label)` of `@concord/client/history`.
   */
  async saveVersion(label: string): Promise<VersionInfo> {
    return (loadedHistory ?? (await loadHistory(this.id)))(this).saveVersion(label)
  }

  /**
   * The document's versions, newest first, `limit` (1-1000, default 50) at most. For the next
   * page, pass the last id as `before`; a page shorter than `limit` is the last. Read access.
   */
  async versions(options: { before?: string; limit?: number } = {}): Promise<VersionInfo[]> {
    return (loadedHistory ?? (await loadHistory(this.id)))(this).versions(options)
  }

  /**
   * Version `id`'s content, as a new read-only Y.Doc: a local transaction on it (any edit) throws a
   * ConcordError `readOnly` and changes nothing. Read access. Rejects with `versionNotFound` when
   * the document has no such version.
   */
  async version(id: string): Promise<Y.Doc> {
    return (loadedHistory ?? (await loadHistory(this.id)))(this).version(id)
  }

  /**
   * Makes the document's content that of version `id`, on the relay: one forward edit that reaches
   * this handle and every other like any edit (edits made offline meanwhile merge after it), and a
   * new version "restored from <id>", which it resolves with. Needs write access. `kinds` names the
   * type of a top-level type whose content cannot tell (else `rootTypeUnknown`).
   */
  async restore(id: string, options: { kinds?: Readonly<Record<string, VersionRootKind>> } = {}): Promise<VersionInfo> {
    return (loadedHistory ?? (await loadHistory(this.id)))(this).restore(id, options)
  }

  /** @internal Something about the state changed: re-derive what the app sees, and tell it. */
  stateChanged(): void {
    const pending = this.#log.pending
    if (pending !== this.#pending) {
      this.#pending = pending
      this.emit('pending', [pending])
    }
    const storage = this.#log.storage
    if (storage !== this.#storage) {
      this.#storage = storage
      this.emit('storage', [storage])
    }
    const status = this.#currentStatus()
    if (status !== this.#status) {
      this.#status = status
      this.emit('status', [status])
    }
    this.#settleSyncWaiters()
  }

  /** @internal The relay deleted the document: drop it here too (or keep the copy), and tell the app. */
  documentDeleted(keepLocalCopy: boolean): void {
    if (this.#deleted || this.#closing) return
    this.#deleted = true
    const error = this.#deletedError()
    for (const waiter of this.#syncWaiters.splice(0)) waiter.reject(error)
    void this.#log.discard(keepLocalCopy)
    this.emit('deleted', [])
  }

  #deletedError(): ConcordError {
    return new ConcordError('documentDeleted', `document "${this.id}" was deleted on the relay`, this.id)
  }

  /** @internal Tells the others this client left (under the Awareness's id: Yjs changes the doc's after a squat). */
  withdrawPresence(): void {
    removeAwarenessStates(this.#awareness, [this.#awareness.clientID], 'close')
  }

  /**
   * @internal The document forked (clockFork.ts): the handle takes the new
   * parts, sets the app's presence (as it was before the fork withdrew it) on
   * the new awareness, and tells the app. A `whenSynced()`
   * made before waits for every edit the new log loads or takes over.
   */
  replaceParts(parts: DocumentParts, presence: Record<string, unknown> | null): void {
    const previous = this.#doc
    this.#stopHearing()
    this.#awareness.off('update', this.#onAwarenessUpdate)
    this.#awareness.destroy()
    this.#doc = parts.doc
    this.#awareness = parts.awareness
    this.#log = parts.log
    this.#sync = parts.sync
    this.#stopHearing = onDocUpdate(this.#doc, this.#onDocUpdate)
    this.#awareness.on('update', this.#onAwarenessUpdate)
    if (presence !== null) this.#awareness.setLocalState(presence)
    for (const waiter of this.#syncWaiters) waiter.ordinal = Infinity
    const log = parts.log
    void log.whenLoaded().then(() => {
      if (this.#log !== log) return
      for (const waiter of this.#syncWaiters) if (waiter.ordinal === Infinity) waiter.ordinal = log.lastOrdinal
      this.#settleSyncWaiters()
    })
    this.emit('replaced', [this.#doc, previous])
    this.stateChanged()
  }

  /** @internal */
  reportError(error: ConcordError): void {
    this.emit('error', [error])
  }

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    // The log stores every update; only this tab's own edits go to the other tabs.
    if (origin === fromStore || origin === fromRelay || origin === fromTab || origin === fromHandover) return
    this.#tabs?.post(this.id, 'update', update)
  }

  readonly #onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (isForeignAwarenessOrigin(origin)) return
    const update = encodeAwarenessUpdate(this.#awareness, [...added, ...updated, ...removed])
    this.#tabs?.post(this.id, 'awareness', update)
    this.#sync.sendAwareness(update)
  }

  #settleSyncWaiters(): void {
    if (!this.#sync.relayStateReceived || this.#syncWaiters.length === 0) return
    const oldestPending = this.#log.oldestPending()
    this.#syncWaiters = this.#syncWaiters.filter((waiter) => {
      const done = oldestPending > waiter.ordinal
      if (done) waiter.resolve()
      return !done
    })
  }

  #currentStatus(): SyncStatus {
    return syncStatusOf({
      connection: this.#sync.connection,
      relayStateReceived: this.#sync.relayStateReceived,
      pending: this.#log.pending,
    })
  }
}

/** @internal */
export interface OpenDocumentOptions {
  readonly id: string
  readonly store: Promise<LocalStore>
  readonly link: RelayLink
  readonly tabs?: TabLink | undefined
  /** What a closed handle of the same document hands over; this one loads after it. */
  readonly after?: Promise<readonly Uint8Array[]> | undefined
  /** That handle's doc state, to show at once (see LocalLogOptions.seed). */
  readonly seed?: Uint8Array | undefined
  /** Resolves once the relay has read the `close` of that handle's opening and sent all it had for it. */
  readonly openAfter?: Promise<void> | undefined
  readonly reopenBackoff?: BackoffOptions | undefined
  readonly history?: HistoryHost | undefined
  readonly compactAfterUpdates?: number | undefined
  readonly compactAfterBytes?: number | undefined
  /** Keep the device's copy of a document the relay deleted. Default false: it is removed. */
  readonly keepDeletedDocuments?: boolean | undefined
  readonly onClose: (handover: Promise<readonly Uint8Array[]>) => void
  /** Another writer took this replica's clocks (see DocSyncOptions.clocksTaken). */
  readonly clocksTaken?: ((taken: TakenClocks) => void) | undefined
  /** A fork: the new doc (filled already), the handle that takes the new parts, and its presence before. */
  readonly fork?:
    { readonly doc: Y.Doc; readonly handle: DocHandle; readonly presence: Record<string, unknown> | null } | undefined
}

/** @internal What the client keeps of an open document: the handle for the app, and the plumbing. */
export interface OpenedDocument {
  readonly handle: DocHandle
  /** Where the client routes the connection's changes and the frames for this document. */
  readonly sync: DocSync
  readonly log: LocalLog
  /** Where the client routes what another tab sent for this document. */
  readonly receiveFromTab: (kind: 'update' | 'awareness', data: Uint8Array) => void
}

/** @internal */
export const openDocument = (options: OpenDocumentOptions): OpenedDocument => {
  const doc = options.fork?.doc ?? new Y.Doc()
  const awareness = new Awareness(doc)
  // The parts call each other back; none does while they are being built, but a late binding keeps that safe.
  const late: { handle?: DocHandle; sync?: DocSync } = {}
  const changed = (): void => late.handle?.stateChanged()
  const error = (error: ConcordError): void => {
    if (late.handle) late.handle.reportError(error)
    else queueMicrotask(() => late.handle?.reportError(error))
  }
  const log = new LocalLog({
    id: options.id,
    doc,
    store: options.store,
    after: options.after,
    seed: options.seed,
    compactAfterUpdates: options.compactAfterUpdates,
    compactAfterBytes: options.compactAfterBytes,
    offer: (edit) => late.sync?.offer(edit),
    changed,
    error,
  })
  const sync = (late.sync = new DocSync({
    id: options.id,
    doc,
    awareness,
    log,
    link: options.link,
    after: options.openAfter,
    reopenBackoff: options.reopenBackoff,
    changed,
    error,
    deleted: () => late.handle?.documentDeleted(options.keepDeletedDocuments ?? false),
    clocksTaken: options.clocksTaken,
  }))
  const handle = (late.handle =
    options.fork?.handle ??
    DocHandle.fromParts({
      id: options.id,
      doc,
      awareness,
      log,
      sync,
      tabs: options.tabs,
      history: options.history,
      onClose: options.onClose,
    }))
  if (options.fork) handle.replaceParts({ doc, awareness, log, sync }, options.fork.presence)
  const receiveFromTab = (kind: 'update' | 'awareness', data: Uint8Array): void => {
    if (kind === 'awareness') {
      applyAwarenessUpdate(awareness, data, fromTab)
      sync.tabSpokeFor(decodeAwarenessUpdate(data).map(({ clientId }) => clientId))
      return
    }
    try {
      Y.applyUpdate(doc, data, fromTab)
    } catch (cause) {
      error(
        new ConcordError('observer', `an observer of "${options.id}" threw while an update was applied`, options.id, {
          cause,
        }),
      )
    }
  }
  return { handle, sync, log, receiveFromTab }
}
