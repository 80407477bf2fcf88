/**
 * Owns a relay's version history: it takes each loaded document's automatic versions when its
 * VersionPolicy says (told of every stored write, and of each room that unloads with edits no
 * version holds), takes named versions on request, and reads versions back. A version's state is
 * read through a direct peer of the room once every write before it is durable, so it never holds
 * content the store might lose; it is re-encoded and hashed on a worker thread (versionStates.ts),
 * not on the event loop every live client shares, and so is a restore's forward edit computed. An automatic version's id is derived from what the document holds
 * (its snapshot: state vector and delete set), so two relays of a cluster that take a version of
 * the same content store it once (the store's unique key); named versions get random ids.
 */
import { randomBytes } from 'node:crypto'
import { ProtocolError } from '@concord/protocol'
import { DirectPeer } from './directPeer.js'
import type { DocStore, VersionInfo, VersionQuery } from './docStore.js'
import { DocumentDeletedError, VersionNotFoundError } from './errors.js'
import type { Logger } from './logger.js'
import type { RootKind } from './restoreContent.js'
import type { Room } from './room.js'
import { VersionStates } from './versionStates.js'
import { systemClock, VersionPolicy, type VersionClock } from './versionPolicy.js'
import type { RetentionOptions } from './versionThinning.js'

export interface HistoryOptions {
  /** An automatic version is taken once an edited document has been quiet this long. Default: 60 s. */
  readonly quietMs?: number
  /** And at the latest this long after the first edit since the last version. Default: 10 min. */
  readonly maxIntervalMs?: number
  /**
   * How old automatic versions are thinned (see versionThinning.ts), when the store can list
   * documents and delete versions; `false` keeps every version. Default: the defaults there.
   */
  readonly retention?: RetentionOptions | false
  /**
   * The time and timers the automatic versions are taken by. Default: Node's. A test gives one it
   * moves by hand (`ManualClock` in `@concord/relay/testing`), so that "quiet" means what it says
   * however slow the machine is.
   */
  readonly clock?: VersionClock
}

export const historyDefaults = { quietMs: 60_000, maxIntervalMs: 600_000 } as const

/** The longest label a named version may have, in characters. */
export const maxLabelLength = 256

export type VersionStore = DocStore & Required<Pick<DocStore, 'saveVersion' | 'listVersions' | 'loadVersion'>>

export const keepsVersions = (store: DocStore): store is VersionStore =>
  store.saveVersion !== undefined && store.listVersions !== undefined && store.loadVersion !== undefined

export interface DocumentHistoryOptions extends HistoryOptions {
  readonly store: VersionStore
  readonly acquireRoom: (doc: string) => Room
  readonly logger: Logger
  readonly now?: () => number
}

export interface SaveVersionOptions {
  readonly label: string
  readonly restoredFrom?: string
}

export interface RestoreOptions {
  /** Who restores, as the `onChange` hook and the next version's authors name them. Default: `server`. */
  readonly by?: string
  /** The types of top-level types, where their content may not tell (see restoreContent.ts). */
  readonly kinds?: Readonly<Record<string, RootKind>>
}

export interface VersionWithState extends VersionInfo {
  readonly state: Uint8Array
}

interface Tracked {
  readonly policy: VersionPolicy
  /** Set once the room is gone: the last state it held, read instead of the room's. */
  finalState?: () => readonly Uint8Array[] | undefined
}

/**
 * What the room holds once everything stored before the call is durable, through a read-only direct
 * peer: unmerged (the state as the room last merged it, then the updates since), for the caller to
 * merge off the event loop.
 */
export const readDurableUpdates = (room: Room, read?: () => void): Promise<readonly Uint8Array[]> =>
  new Promise((resolve, reject) => {
    let held: readonly Uint8Array[] | undefined
    const peer = new DirectPeer(room, 'read', 'history', {
      unmerged: (updates) => {
        held = updates
        read?.()
      },
      refused: reject,
    })
    peer
      .send({ type: 'step1', stateVector: new Uint8Array([0]) })
      .then(() => (held ? resolve(held) : reject(new Error('the room sent no state'))), reject)
      .finally(() => peer.leave())
  })

export class DocumentHistory {
  readonly #options: DocumentHistoryOptions
  /** Where versions' states are re-encoded and hashed: off the event loop, which every live client shares. */
  readonly #states = new VersionStates()
  readonly #tracked = new Map<string, Tracked>()
  /** Versions being taken of rooms that are gone, for `idle()`. */
  readonly #finishing = new Set<Promise<void>>()
  /** Set when the relay begins to close: from then on only rooms that close take versions (with their last state). */
  #closing = false

  constructor(options: DocumentHistoryOptions) {
    this.#options = options
  }

  /** An update of `doc` was stored, written by `by`. */
  written(doc: string, by: string | undefined): void {
    this.#track(doc).policy.edited(by)
  }

  /**
   * The room of `doc` is gone (unloaded, or the relay closes) with every write settled: if edits
   * no version holds were made, a version of `state` is taken now.
   */
  roomGone(doc: string, state: () => readonly Uint8Array[] | undefined): void {
    const tracked = this.#tracked.get(doc)
    if (!tracked) return
    this.#tracked.delete(doc)
    tracked.finalState = state
    const finishing = tracked.policy.takeNow()
    tracked.policy.stop()
    this.#finishing.add(finishing)
    void finishing.finally(() => this.#finishing.delete(finishing))
  }

  /**
   * The relay begins to close: a version falling due now would load its room again; it is left to
   * the room's close instead, which takes it from the room's last state.
   */
  beginClosing(): void {
    this.#closing = true
  }

  /** Takes no more automatic versions; resolves once those of rooms that are gone are taken. */
  async close(): Promise<void> {
    this.#closing = true
    for (const { policy } of this.#tracked.values()) policy.stop()
    this.#tracked.clear()
    while (this.#finishing.size > 0) await Promise.allSettled([...this.#finishing])
    await this.#states.close()
  }

  /** Takes a named version of `doc` as it is now (everything stored so far). */
  async saveVersion(doc: string, { label, restoredFrom }: SaveVersionOptions): Promise<VersionInfo> {
    if (typeof label !== 'string' || label.trim() === '' || label.length > maxLabelLength) {
      throw new ProtocolError('malformedMessage', `a version's label is 1 to ${maxLabelLength} characters`)
    }
    // Edits stored while the read waits for the writes before it to be durable are not in it: only
    // those stored before the read are claimed, the rest stay unsaved for the next automatic version.
    let policy: VersionPolicy | undefined
    let readMark = 0
    const held = await readDurableUpdates(this.#options.acquireRoom(doc), () => {
      policy = this.#tracked.get(doc)?.policy
      readMark = policy?.mark() ?? 0
    })
    const unsaved = policy?.unsavedUpTo(readMark) === true
    const authors = policy?.claim(readMark) ?? []
    const version = {
      id: randomBytes(16).toString('base64url'),
      createdAt: (this.#options.now ?? Date.now)(),
      label,
      authors,
      restoredFrom,
    }
    let state: Uint8Array
    try {
      ;({ state } = await this.#states.canonicalOf(held))
      await this.#options.store.saveVersion(doc, { ...version, state })
    } catch (error) {
      // Not saved: the edits it would have held are unsaved again, for the next automatic version.
      if (unsaved) policy?.unsaved(authors)
      throw error
    }
    return { ...version, bytes: state.byteLength }
  }

  listVersions(doc: string, query: VersionQuery): Promise<VersionInfo[]> {
    return this.#options.store.listVersions(doc, query)
  }

  /** Rejects with VersionNotFoundError when `doc` has no version `id` (another document's id included). */
  async loadVersion(doc: string, id: string): Promise<VersionWithState> {
    const version = await this.#options.store.loadVersion(doc, id)
    if (!version) throw new VersionNotFoundError(doc, id)
    return version
  }

  /**
   * Makes the document's content that of version `id`: one forward edit, admitted, stored and
   * forwarded like a client's (through a direct peer), then a named version "restored from <id>".
   * Rejects, changing nothing, with VersionNotFoundError or RootTypeError.
   */
  async restore(doc: string, id: string, { by = 'server', kinds = {} }: RestoreOptions = {}): Promise<VersionInfo> {
    const version = await this.loadVersion(doc, id)
    const held = await readDurableUpdates(this.#options.acquireRoom(doc))
    // Decoding both and computing the edit takes some hundreds of milliseconds for a large document:
    // on the worker. Edits made meanwhile merge with it as with any concurrent edit.
    const edit = await this.#states.restoreEditOf(held, version.state, kinds)
    if (edit) {
      const writer = new DirectPeer(this.#options.acquireRoom(doc), 'write', by, {})
      try {
        await writer.send({ type: 'update', update: edit })
      } finally {
        writer.leave()
      }
    }
    return this.saveVersion(doc, { label: `restored from ${id}`, restoredFrom: id })
  }

  #track(doc: string): Tracked {
    let tracked = this.#tracked.get(doc)
    if (tracked) return tracked
    const policy = new VersionPolicy({
      quietMs: this.#options.quietMs ?? historyDefaults.quietMs,
      maxIntervalMs: this.#options.maxIntervalMs ?? historyDefaults.maxIntervalMs,
      clock: this.#options.clock ?? systemClock,
      take: (authors) => this.#takeAutomatic(doc, entry, authors),
    })
    const entry: Tracked = { policy }
    tracked = entry
    this.#tracked.set(doc, tracked)
    return tracked
  }

  async #takeAutomatic(doc: string, tracked: Tracked, authors: string[]): Promise<void> {
    const { logger, store } = this.#options
    // Rejected, so that the edits stay unsaved for the version the room's close takes.
    if (this.#closing && !tracked.finalState) throw new Error('the relay is closing')
    try {
      const held = tracked.finalState ? tracked.finalState() : await readDurableUpdates(this.#options.acquireRoom(doc))
      if (!held) return
      const { state, contentId } = await this.#states.canonicalOf(held)
      const createdAt = (this.#options.now ?? Date.now)()
      const version = { id: contentId, createdAt, label: undefined, authors, restoredFrom: undefined }
      const stored = await store.saveVersion(doc, { ...version, state })
      logger.debug({ doc, version: contentId, bytes: state.byteLength, stored }, 'automatic version taken')
    } catch (error) {
      if (error instanceof DocumentDeletedError) {
        tracked.policy.stop()
        if (this.#tracked.get(doc) === tracked) this.#tracked.delete(doc)
        return
      }
      logger.warn({ doc, err: error }, 'an automatic version could not be taken')
      // Retried after the next quiet period, unless the room is gone (its edits are in the log all the same).
      throw error
    }
  }
}
