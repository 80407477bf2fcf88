/**
 * Owns the question a relay of a cluster answers before it acknowledges an
 * update: does the store serve what this relay stored? Two relays can both
 * admit content under one id (a squatter on one writes a client's next
 * clocks, and the client's real edit reaches another before the news does:
 * Redis is late, or lost the message). Both are stored; the log's order
 * decides which one every load serves (see quarantine.ts), and the other is
 * quarantined for good. Acknowledging that other one would promise a write
 * nobody will ever read.
 *
 * So, once its append committed, a relay reads the log (PostgreSQL commits a
 * document's rows in the order of their ids: see postgresDocStore.ts, so the
 * read sees every row before its own) and checks its update against what
 * the log serves. The writes that commit while one read runs share the next
 * read: one read at a time per document, whatever the write rate.
 */
import { ProtocolError } from '@concord/protocol'
import { admitUpdate } from './admitUpdate.js'
import { admitLog, type AdmittedLog } from './quarantine.js'
import { mergeUpdates } from './yjsUpdates.js'

export class StoredFirst {
  /** The read that has not started yet: every write that committed before it starts may share it. */
  #next: Promise<AdmittedLog> | undefined
  #last: Promise<unknown> = Promise.resolve()

  constructor(private readonly load: () => Promise<Uint8Array[]>) {}

  /**
   * Call once `update` is durable. Resolves with undefined when the log
   * serves it (or what it repeats), or with why not: a row stored before it
   * holds other content under its clocks. Rejects when the store cannot be
   * read.
   */
  async contradiction(update: Uint8Array): Promise<string | undefined> {
    const log = await this.#read()
    try {
      // The log's own updates stand in for the recent ones: only those that share clocks with it are merged.
      admitUpdate(
        update,
        log.known,
        () => mergeUpdates(log.updates),
        () => log.updates,
      )
      return undefined
    } catch (error) {
      if (error instanceof ProtocolError && error.code === 'invalidUpdate') return error.message
      throw error
    }
  }

  #read(): Promise<AdmittedLog> {
    if (this.#next) return this.#next
    const next = this.#last
      .catch(() => {})
      .then(() => {
        // Started from now on: a write that commits after this point waits for the read after it.
        this.#next = undefined
        return this.load()
      })
      .then(admitLog)
    this.#next = next
    this.#last = next
    return next
  }
}
