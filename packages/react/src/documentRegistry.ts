/**
 * Owns which documents the components of one client hold: a reference count
 * per document id over `client.open(id)`, and the close that follows the
 * last release. The close is deferred (a macrotask, or `closeDelayMs`), so
 * StrictMode's mount, unmount, mount and a navigation that unmounts one view
 * of a document and mounts another in the same commit keep the same handle:
 * no close and reopen, no lost edit, no new sequence numbers.
 *
 * A handle handed out during a render that React then throws away (a
 * concurrent render, a suspended tree) is never retained; a deferred close
 * collects it too, after a longer grace (`unclaimedGraceMs`): React may run
 * a committed render's effects a task or more after the render, and the
 * handle must still be open then.
 */
import type { ConcordClient, DocHandle } from '@concord/client'

interface Entry {
  readonly handle: DocHandle
  /** Components whose effect holds the handle. */
  holders: number
  closeTimer: ReturnType<typeof setTimeout> | undefined
}

/** How long a handle opened by a render stays open without a holder: longer than React takes to commit. */
export const unclaimedGraceMs = 2_000

export interface DocumentRegistryOptions {
  /**
   * How long a document stays open after its last holder lets go, in case
   * another takes it (default 0: the next macrotask). Raise it for apps whose
   * routes unmount a document's page well before the next page mounts.
   */
  readonly closeDelayMs?: number
}

export class DocumentRegistry {
  readonly #client: ConcordClient
  readonly #closeDelayMs: number
  readonly #entries = new Map<string, Entry>()

  constructor(client: ConcordClient, options: DocumentRegistryOptions = {}) {
    this.#client = client
    this.#closeDelayMs = options.closeDelayMs ?? 0
  }

  /**
   * The open handle of `id`, opened if it is not. Safe during render: if no
   * holder retains it by the deferred close, it is closed again.
   */
  get(id: string): DocHandle {
    // The client hands out the same handle until it is closed; a handle closed behind the registry's back
    // (by the app, or a destroyed client's) gives way to a new one, and the holds pass to it.
    const handle = this.#client.open(id)
    const entry = this.#entries.get(id)
    if (entry?.handle === handle) return handle
    if (entry) clearTimeout(entry.closeTimer)
    const opened: Entry = { handle, holders: entry?.holders ?? 0, closeTimer: undefined }
    this.#entries.set(id, opened)
    if (opened.holders === 0) this.#scheduleClose(id, opened, Math.max(this.#closeDelayMs, unclaimedGraceMs))
    return handle
  }

  /** Holds the handle of `id` until `release(id)`; returns it (opened again if it was closed meanwhile). */
  retain(id: string): DocHandle {
    this.get(id)
    const entry = this.#entries.get(id)!
    entry.holders++
    clearTimeout(entry.closeTimer)
    entry.closeTimer = undefined
    return entry.handle
  }

  /** Lets go of one hold on `id`; the last one closes the handle once the deferral passes unclaimed. */
  release(id: string): void {
    const entry = this.#entries.get(id)
    if (!entry || entry.holders === 0) return
    entry.holders--
    if (entry.holders === 0) this.#scheduleClose(id, entry, this.#closeDelayMs)
  }

  /** How many components hold `id` now (for tests and devtools). */
  holders(id: string): number {
    return this.#entries.get(id)?.holders ?? 0
  }

  /** Forgets every deferred close; for a client that is being destroyed, which closes every handle itself. */
  dispose(): void {
    for (const entry of this.#entries.values()) clearTimeout(entry.closeTimer)
    this.#entries.clear()
  }

  #scheduleClose(id: string, entry: Entry, delayMs: number): void {
    clearTimeout(entry.closeTimer)
    entry.closeTimer = setTimeout(() => {
      entry.closeTimer = undefined
      if (entry.holders > 0 || this.#entries.get(id) !== entry) return
      this.#entries.delete(id)
      entry.handle.close()
    }, delayMs)
  }
}

const registries = new WeakMap<ConcordClient, DocumentRegistry>()

/**
 * The registry of `client`: one per client, so that every provider over the
 * same client counts the same holds (the client hands every one of them the
 * same handle for an id, so only one of them may decide to close it).
 */
export const registryOf = (client: ConcordClient, options?: DocumentRegistryOptions): DocumentRegistry => {
  let registry = registries.get(client)
  if (!registry) {
    registry = new DocumentRegistry(client, options)
    registries.set(client, registry)
  }
  return registry
}

/** Drops the registry of a client that is gone. */
export const forgetRegistry = (client: ConcordClient): void => {
  registries.get(client)?.dispose()
  registries.delete(client)
}
