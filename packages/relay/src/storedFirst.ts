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
 * So, once its append committed, a relay checks its update against the rows
 * before it (PostgreSQL commits a document's rows in the order of their ids:
 * see postgresDocStore.ts, so every row before its own is committed then).
 * Cheaply when it can: it keeps the clocks of the log up to the last row it
 * knows, and learns rows from its own appends (the store says where each one
 * landed and which row was before it) and from the other relays' news (which
 * carries the same, for rows their relay found served). An update whose row
 * follows one it knows, and whose clocks no row before it holds, is served:
 * no read. Otherwise it reads only the rows after the last one it knows, and
 * decodes those it has not heard of. Another relay's row that shares clocks
 * with the rows before it (a compaction's merged row, mostly) only adds its
 * clocks. Whenever a row of its own does (a repeat, a contradiction), or the
 * store cannot say where rows are, it reads and admits the whole log as a
 * load does. One check at a time per document: the writes that commit
 * while one read runs share what it read.
 */
import { ProtocolError } from '@concord/protocol'
import { admitUpdate } from './admitUpdate.js'
import type { LogRow, StoredRow } from './docStore.js'
import { KnownClocks } from './knownClocks.js'
import { admitLog } from './quarantine.js'
import { inspectUpdate, mergeUpdates, type ClockRange } from './yjsUpdates.js'

export interface StoredFirstSource {
  /** Every stored update of the document, oldest first. */
  readonly load: () => Promise<Uint8Array[]>
  /**
   * The rows after row `after` (every row without it), oldest first; with `through` (a row of this
   * relay, committed), at least up to it, without waiting for appends in flight. Without it, every
   * check loads the log.
   */
  readonly loadRows?: ((after?: string, through?: string) => Promise<LogRow[]>) | undefined
}

interface KnownRow {
  readonly id: bigint
  readonly ranges: readonly ClockRange[]
}

/** Heard rows kept while they do not follow the last row known. */
const maxWaitingHeard = 256

const rowId = (id: string | undefined): bigint => (id === undefined ? 0n : BigInt(id))

export class StoredFirst {
  #last: Promise<unknown> = Promise.resolve()
  /** Every row of the log up to this id is known, and `#known` holds their clocks; undefined: none yet. */
  #through: bigint | undefined
  #known = new KnownClocks()
  /** Rows the log serves (other relays' news), past `#through`, by the id of the row before each. */
  readonly #heard = new Map<bigint, KnownRow>()
  /** The same rows by their own id. */
  readonly #heardById = new Map<bigint, KnownRow>()
  /** This relay's rows whose check has not answered yet: their clocks. */
  readonly #own = new Map<bigint, readonly ClockRange[]>()
  /** Of those, the ones a read already found served. */
  readonly #served = new Set<bigint>()
  /** Checks that needed no read, and reads, since the room loaded: for tests and the bench's report. */
  readonly counts = { withoutRead: 0, rowReads: 0, logReads: 0 }

  constructor(private readonly source: StoredFirstSource) {}

  /**
   * The room loaded the log up to row `lastRow` (undefined: it was empty), holding the clocks of
   * `known` (its own copy): the first check then needs no read to learn where the log is.
   */
  loaded(lastRow: string | undefined, known: KnownClocks): void {
    if (this.#through !== undefined || !this.source.loadRows) return
    this.#through = rowId(lastRow)
    this.#known = known
  }

  /**
   * Another relay found row `row`, holding `ranges`, served. Taken at once when it follows the last
   * row known; kept a while otherwise (news may come out of order), and forgotten when too many wait
   * (a message was lost: the next check reads instead).
   */
  heard(row: StoredRow, ranges: readonly ClockRange[]): void {
    // Before this relay's first check it knows no row: that check reads, whatever it heard.
    if (this.#through === undefined) return
    const known = { id: rowId(row.id), ranges }
    if (known.id <= this.#through) return
    this.#heard.set(rowId(row.previous), known)
    this.#heardById.set(known.id, known)
    this.#followHeard()
    if (this.#heard.size > maxWaitingHeard) {
      this.#heard.clear()
      this.#heardById.clear()
    }
  }

  /**
   * Call once `update` (holding `ranges`) is durable, with where it landed when the store said.
   * Resolves with undefined when the log serves it (or what it repeats), or with why not: a row
   * stored before it holds other content under its clocks. Rejects when the store cannot be read.
   */
  contradiction(update: Uint8Array, ranges: readonly ClockRange[], row?: StoredRow): Promise<string | undefined> {
    if (row && this.source.loadRows) this.#own.set(rowId(row.id), ranges)
    const check = this.#last
      .catch(() => {})
      .then(() => (row && this.source.loadRows ? this.#check(update, ranges, row) : this.#admitWholeLog(update)))
    this.#last = check
    return check
  }

  async #check(update: Uint8Array, ranges: readonly ClockRange[], row: StoredRow): Promise<string | undefined> {
    const id = rowId(row.id)
    if (this.#answered(id)) return undefined
    this.#followHeard()
    if (this.#through !== undefined && this.#through === rowId(row.previous) && this.#add(id, ranges)) {
      this.counts.withoutRead++
      this.#own.delete(id)
      return undefined
    }
    if (this.#through === undefined || this.#through < id) {
      this.counts.rowReads++
      const rows = await this.source.loadRows!(this.#through === undefined ? undefined : String(this.#through), row.id)
      this.#follow(rows)
      if (this.#answered(id)) return undefined
    }
    try {
      return await this.#admitWholeLog(update, row.id)
    } finally {
      this.#own.delete(id)
      this.#served.delete(id)
    }
  }

  /** Whether row `id` of this relay was found served (by a read made for an earlier row). */
  #answered(id: bigint): boolean {
    if (!this.#served.delete(id)) return false
    this.#own.delete(id)
    return true
  }

  /**
   * Takes the row after `#through`; false, leaving it for a whole-log read, for a row of this relay
   * whose clocks are not new to the log. Another relay's row may share clocks with the rows before
   * it (a compaction's merged row, mostly): its clocks are added all the same. `#known` may then
   * hold clocks the log does not serve (those of a row it sets aside), never miss one it serves: an
   * own row is only ever found served the more rarely for it, and a whole-log read makes it exact.
   */
  #add(id: bigint, ranges: readonly ClockRange[]): boolean {
    if (this.#own.has(id) && this.#known.held(ranges).length > 0) return false
    this.#known.add(ranges)
    this.#through = id
    if (this.#own.has(id)) this.#served.add(id)
    this.#heardById.delete(id)
    return true
  }

  /** Takes the heard rows that follow `#through`, one after the other. */
  #followHeard(): void {
    for (let next = this.#heard.get(this.#through ?? -1n); next; next = this.#heard.get(this.#through!)) {
      this.#heard.delete(this.#through!)
      if (!this.#add(next.id, next.ranges)) return
    }
  }

  /** Takes the rows read after `#through`, until one shares clocks with those before it. */
  #follow(rows: readonly LogRow[]): void {
    if (this.#through === undefined) this.#through = 0n
    for (const { id: text, update } of rows) {
      const id = BigInt(text)
      if (id <= this.#through) continue
      // Decoded even when it is this relay's or a heard row: a compaction may have merged the rows
      // before it into it since (it keeps the id of the last row it merged). One that does not
      // decode, or a row of this relay that shares clocks with those before it, is left for the
      // whole-log read (see #add).
      let ranges: readonly ClockRange[]
      try {
        ranges = inspectUpdate(update).ranges
      } catch {
        return
      }
      if (!this.#add(id, ranges)) return
    }
    this.#forgetHeard()
  }

  /** Drops heard rows the log has passed. */
  #forgetHeard(): void {
    for (const [previous, row] of this.#heard) {
      if (row.id <= this.#through!) {
        this.#heard.delete(previous)
        this.#heardById.delete(row.id)
      }
    }
  }

  /**
   * Admits the whole log as a load does, and `update` against it; the rows it read are known from
   * then on (the clocks of what the log serves), and this relay's rows among them answered.
   */
  async #admitWholeLog(update: Uint8Array, through?: string): Promise<string | undefined> {
    this.counts.logReads++
    let ids: bigint[] | undefined
    let stored: Uint8Array[]
    if (this.source.loadRows) {
      const rows = await this.source.loadRows(undefined, through)
      ids = rows.map((row) => BigInt(row.id))
      stored = rows.map((row) => row.update)
    } else {
      stored = await this.source.load()
    }
    const log = admitLog(stored)
    if (ids) {
      const setAside = new Set(log.setAside.map((aside) => aside.index))
      ids.forEach((id, index) => {
        if (this.#own.has(id) && !setAside.has(index)) this.#served.add(id)
      })
      this.#through = ids.at(-1) ?? 0n
      this.#known = log.known
      this.#forgetHeard()
    }
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
}
