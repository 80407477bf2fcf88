/**
 * Owns, in cluster mode, the check a room makes of each update it stored before it acknowledges or
 * forwards it: does the store serve it (see storedFirst.ts)? Another relay may have stored other
 * content under its clocks first, its news not here yet: then the update is refused, never
 * acknowledged, and the room, which serves it, is refused to every peer (4503) so that the next
 * load serves what the store does. It also says whether checks are under way, and when they are
 * done, so that a sync step 1 is answered only with what the log serves.
 */
import type { DocStore, StoredRow } from './docStore.js'
import type { KnownClocks } from './knownClocks.js'
import type { Logger } from './logger.js'
import { durable, type RoomPeer, type SyncOutcome } from './roomPeer.js'
import { StoredFirst } from './storedFirst.js'
import type { ClockRange } from './yjsUpdates.js'

/** What the room does as a check settles. */
export interface ReadBackOutcomes {
  /** The store serves `update`: forward it, and tell what says it is stored (hooks, news, webhook clocks). */
  readonly served: (update: Uint8Array, sender: RoomPeer, ranges: readonly ClockRange[], row?: StoredRow) => void
  /** The store serves other content under the clocks of `ranges`: contest their clients; resolves once kept. */
  readonly contradicted: (ranges: readonly ClockRange[]) => Promise<void>
  /** After a contradiction is answered: the room serves content the store does not, and must be refused. */
  readonly changedElsewhere: () => void
  /** The store could not be read back. */
  readonly unreadable: (error: unknown) => void
}

const ignore = (): void => {}

export class ReadBackChecks {
  readonly #storedFirst: StoredFirst
  /** Checks under way, and the last one begun. */
  #inFlight = 0
  #lastCheck: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly name: string,
    store: DocStore,
    private readonly logger: Logger,
    private readonly outcomes: ReadBackOutcomes,
  ) {
    const { loadRows } = store
    this.#storedFirst = new StoredFirst({
      load: () => store.load(name),
      loadRows: loadRows && ((after, through) => loadRows.call(store, name, after, through)),
    })
  }

  /** Whether a check is under way: the room then holds updates the log may still set aside. */
  get inFlight(): boolean {
    return this.#inFlight > 0
  }

  /** The room loaded the log up to row `lastRow`, holding the clocks of `known` (its own copy). */
  loaded(lastRow: string | undefined, known: KnownClocks): void {
    this.#storedFirst.loaded(lastRow, known)
  }

  /** A row the log serves, another relay says: this relay's appends after it need not read it back. */
  heard(row: StoredRow, ranges: readonly ClockRange[]): void {
    this.#storedFirst.heard(row, ranges)
  }

  /** Checks `update` of `sender` once `written` (its append) resolves; settles as the update's outcome. */
  check(
    written: Promise<StoredRow | void>,
    update: Uint8Array,
    sender: RoomPeer,
    ranges: readonly ClockRange[],
  ): Promise<SyncOutcome | undefined> {
    this.#inFlight++
    const checked = written
      .then((row) => this.#servedFromStore(update, sender, ranges, row || undefined))
      .finally(() => this.#inFlight--)
    this.#lastCheck = checked.catch(ignore)
    return checked
  }

  /** Resolves once the checks under way are done, and a refusal among them has refused the peers. */
  async done(): Promise<void> {
    await this.#lastCheck
    await new Promise((resolve) => setImmediate(resolve))
  }

  /** Whether the store serves `update`, now durable (see the module's comment). */
  async #servedFromStore(
    update: Uint8Array,
    sender: RoomPeer,
    ranges: readonly ClockRange[],
    row: StoredRow | undefined,
  ): Promise<SyncOutcome | undefined> {
    let contradiction: string | undefined
    try {
      contradiction = await this.#storedFirst.contradiction(update, ranges, row)
    } catch (error) {
      this.outcomes.unreadable(error)
      return undefined
    }
    if (contradiction === undefined) {
      this.outcomes.served(update, sender, ranges, row)
      return durable
    }
    const reason = `another relay stored other content first: ${contradiction}`
    this.logger.warn({ doc: this.name, reason }, 'a stored update is not what the store serves: refused')
    // Its writers go on past its clocks, next to content the log does not serve: refused from now on,
    // here and on the next load.
    await this.outcomes.contradicted(ranges)
    // After the refusal is answered (outcomes are answered in the microtasks that follow).
    setImmediate(this.outcomes.changedElsewhere)
    return { kind: 'refused', code: 'invalidUpdate', reason }
  }
}
