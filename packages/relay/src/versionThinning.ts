/**
 * Owns retention's background pass: every `intervalMs` it walks the store's documents (a few per
 * pass, resuming where the last pass stopped, and wrapping around), lists each one's versions and
 * deletes the automatic ones that the retention tiers drop (see versionRetention.ts), at most
 * `maxDeletionsPerPass` per pass. It runs off the live path: one pass at a time, each store call
 * awaited, nothing held that an update waits for. Two relays of a cluster that thin at once are
 * safe: both decide the same from the same versions, and deleting a deleted version is a no-op.
 * A failure is logged and counted; the next pass tries again.
 */
import type { DocStore, VersionInfo } from './docStore.js'
import { DocumentDeletedError } from './errors.js'
import type { Logger } from './logger.js'
import type { RelayObserver } from './relayObserver.js'
import { checkRetentionTiers, defaultRetentionTiers, type RetentionTier, versionsToDrop } from './versionRetention.js'

export interface RetentionOptions {
  /** Default: all of the last day, one per hour for 30 days, one per day after (`defaultRetentionTiers`). */
  readonly tiers?: readonly RetentionTier[]
  /** Time between the end of one pass and the start of the next. Default: 10 min. */
  readonly intervalMs?: number
  /** Documents a pass looks at, at most. Default: 100. */
  readonly maxDocumentsPerPass?: number
  /** Versions a pass deletes, at most. Default: 1000. */
  readonly maxDeletionsPerPass?: number
}

export const retentionDefaults = { intervalMs: 600_000, maxDocumentsPerPass: 100, maxDeletionsPerPass: 1000 } as const

export type ThinnableStore = DocStore & Required<Pick<DocStore, 'list' | 'listVersions' | 'deleteVersions'>>

export const canThin = (store: DocStore): store is ThinnableStore =>
  store.list !== undefined && store.listVersions !== undefined && store.deleteVersions !== undefined

/** What one pass did. */
export interface ThinningPass {
  readonly documents: number
  readonly deleted: number
  readonly failures: number
}

export interface VersionThinningOptions extends RetentionOptions {
  readonly store: ThinnableStore
  readonly logger: Logger
  readonly observer?: RelayObserver
  /** Wall-clock time (ms since the epoch), that of versions' `createdAt`. Default: Date.now. */
  readonly now?: () => number
}

/** Versions are listed this many at a time; documents too. */
const pageSize = 500
/** And deleted this many per store call, so that no one transaction is long. */
const deleteBatch = 100

export class VersionThinning {
  readonly #options: VersionThinningOptions
  readonly #tiers: readonly RetentionTier[]
  /** The last document a pass finished: the next one starts after it. Undefined: from the first. */
  #after: string | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<ThinningPass> | undefined
  #stopped = false

  constructor(options: VersionThinningOptions) {
    this.#options = options
    this.#tiers = options.tiers ?? defaultRetentionTiers
    checkRetentionTiers(this.#tiers)
  }

  /** Arms the first pass, `intervalMs` from now, and each next one after the one before ends. */
  start(): void {
    if (this.#stopped || this.#timer) return
    const intervalMs = this.#options.intervalMs ?? retentionDefaults.intervalMs
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.pass().finally(() => this.start())
    }, intervalMs).unref()
  }

  /** Arms no more passes; resolves once a pass under way has ended. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /** Runs one pass now (or joins the one under way). Never rejects: failures are logged and counted. */
  pass(): Promise<ThinningPass> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined))
    return this.#running
  }

  async #pass(): Promise<ThinningPass> {
    const { store, logger, observer } = this.#options
    const maxDocuments = this.#options.maxDocumentsPerPass ?? retentionDefaults.maxDocumentsPerPass
    let budget = this.#options.maxDeletionsPerPass ?? retentionDefaults.maxDeletionsPerPass
    const now = (this.#options.now ?? Date.now)()
    let documents = 0
    let deleted = 0
    let failures = 0
    const failed = (fields: object, error: unknown): void => {
      failures++
      observer?.thinningFailed?.()
      logger.warn({ ...fields, err: error }, 'retention could not thin versions')
    }
    try {
      while (documents < maxDocuments && budget > 0 && !this.#stopped) {
        const limit = Math.min(pageSize, maxDocuments - documents)
        const page = await store.list({ ...(this.#after !== undefined && { after: this.#after }), limit })
        for (const { name } of page) {
          if (budget <= 0 || this.#stopped) break
          documents++
          try {
            const drop = versionsToDrop(await this.#retained(name), now, this.#tiers)
            const dropping = drop.slice(0, budget)
            for (let start = 0; start < dropping.length; start += deleteBatch) {
              const count = await store.deleteVersions(name, dropping.slice(start, start + deleteBatch))
              deleted += count
              if (count > 0) observer?.versionsThinned?.(count)
            }
            budget -= dropping.length
            // A document with more to drop than the budget is resumed by the next pass.
            if (dropping.length < drop.length) break
          } catch (error) {
            if (!(error instanceof DocumentDeletedError)) failed({ doc: name }, error)
          }
          this.#after = name
        }
        if (budget <= 0 || this.#stopped) break
        // The end of the store: the next pass starts again from the first document.
        if (page.length < limit) {
          this.#after = undefined
          break
        }
      }
    } catch (error) {
      failed({}, error)
    }
    if (deleted > 0) logger.info({ documents, deleted }, 'retention thinned old automatic versions')
    return { documents, deleted, failures }
  }

  /** Every version of `doc`, as retention sees them. */
  async #retained(doc: string): Promise<{ id: string; createdAt: number; named: boolean }[]> {
    const versions: VersionInfo[] = []
    for (;;) {
      const before = versions.at(-1)?.id
      const page = await this.#options.store.listVersions(doc, {
        ...(before !== undefined && { before }),
        limit: pageSize,
      })
      versions.push(...page)
      if (page.length < pageSize) break
    }
    return versions.map(({ id, createdAt, label }) => ({ id, createdAt, named: label !== undefined }))
  }
}
