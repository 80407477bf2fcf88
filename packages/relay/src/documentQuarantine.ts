/**
 * Owns one loaded document's quarantine: building what the room serves from
 * a stored log (see quarantine.ts for the rules), and reporting each update
 * it keeps aside once: logged with where it came from, counted, and stored
 * aside where the store can (DocStore.quarantine).
 */
import { createHash } from 'node:crypto'
import type { DocStore } from './docStore.js'
import type { KnownClocks } from './knownClocks.js'
import type { Logger } from './logger.js'
import { admitLog, mergeSettingAside, type SetAside } from './quarantine.js'

/** Where a quarantined update was met: read from the store's log, or heard from another relay. */
export type QuarantineSource = 'store' | 'relay'

export interface DocumentQuarantineOptions {
  readonly store: DocStore
  readonly logger: Logger
  /**
   * Cluster mode: two relays may have stored contradicting updates, so every log is admitted in
   * order. Alone, a relay admitted each update it stored against all before it: logs are only
   * checked for what no merge can take.
   */
  readonly cluster: boolean
  readonly onQuarantined?: ((from: QuarantineSource) => void) | undefined
}

export class DocumentQuarantine {
  /** Digests of the updates quarantined, so that each is reported once. */
  readonly #digests = new Set<string>()
  /** Reports an update of the store's log that a merge had to leave out. */
  readonly fromStore = (aside: SetAside): void => this.add(aside, 'store')

  constructor(
    private readonly doc: string,
    private readonly options: DocumentQuarantineOptions,
  ) {}

  /** What to build the document from, out of a stored log; in cluster mode also the clocks it holds. */
  admit(log: Uint8Array[]): { readonly updates: Uint8Array[]; readonly known?: KnownClocks } {
    if (!this.options.cluster) return { updates: log }
    const admitted = admitLog(log)
    for (const aside of admitted.setAside) this.fromStore(aside)
    return admitted
  }

  /** One update for a stored log, leaving out what is quarantined: for resyncs and compactions. */
  merge(log: Uint8Array[]): Uint8Array {
    return mergeSettingAside(this.admit(log).updates, this.fromStore) ?? new Uint8Array([0, 0])
  }

  /** Keeps an update aside, out of what the document serves. `relayId`: the relay that sent it as news. */
  add({ update, index, reason }: SetAside, from: QuarantineSource, relayId?: string): void {
    const digest = createHash('sha256').update(update).digest('hex')
    if (this.#digests.has(digest)) return
    this.#digests.add(digest)
    const { logger, store, onQuarantined } = this.options
    logger.warn(
      {
        doc: this.doc,
        from,
        ...(relayId !== undefined && { relayId }),
        index,
        bytes: update.byteLength,
        digest,
        reason,
      },
      'update quarantined: kept aside, not served',
    )
    onQuarantined?.(from)
    // News from another relay is in the store's log already: loads and compactions decide which to keep.
    if (from !== 'store') return
    store.quarantine?.(this.doc, update, reason).catch((error: unknown) => {
      logger.warn({ doc: this.doc, digest, err: error }, 'could not store a quarantined update aside')
    })
  }
}
