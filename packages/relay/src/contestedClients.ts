/**
 * Owns the Yjs clients of one document whose clocks past those held the
 * relay refused (see admitUpdate): what builds on those clocks is refused
 * too. The store keeps them (DocStore.contest / loadContested, where it can),
 * so that a restart or an unload does not forget them and let the refused
 * writer's next edits in.
 */
import type { DocStore } from './docStore.js'
import type { Logger } from './logger.js'
import type { ClockRange } from './yjsUpdates.js'

export class ContestedClients {
  /** The contested clients; admitUpdate adds to it as it refuses. */
  readonly clients = new Set<number>()
  /** Of those, the ones the store has (or was asked to keep): see save. */
  readonly #saved = new Set<number>()

  constructor(
    private readonly name: string,
    private readonly store: DocStore,
    private readonly logger: Logger,
  ) {}

  /** The clients the store kept for the document, if it keeps them. */
  load(): Promise<number[]> | undefined {
    return this.store.loadContested?.call(this.store, this.name)
  }

  /** Refused before a restart or unload: what they write next is refused as it was then. */
  restore(loaded: readonly number[] | undefined): void {
    for (const client of loaded ?? []) {
      this.clients.add(client)
      this.#saved.add(client)
    }
  }

  /** Contests every client of `ranges`. */
  add(ranges: readonly ClockRange[]): void {
    for (const { client } of ranges) this.clients.add(client)
  }

  /**
   * Asks the store to keep the clients contested since the last call (see DocStore.contest), so that
   * a restart or an unload does not forget them; resolves once it did (or failed: logged, and kept
   * in memory only).
   */
  save(): Promise<void> {
    const { contest } = this.store
    if (!contest || this.clients.size === this.#saved.size) return Promise.resolve()
    const added = [...this.clients].filter((client) => !this.#saved.has(client))
    for (const client of added) this.#saved.add(client)
    return contest.call(this.store, this.name, added).catch((error: unknown) => {
      this.logger.warn({ doc: this.name, err: error }, 'could not store the contested clients')
    })
  }
}
