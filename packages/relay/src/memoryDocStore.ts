/**
 * Owns a DocStore that lives in memory: for tests and short-lived relays.
 * Nothing survives the process; appends resolve in order. Its webhook
 * outbox is a MemoryOutbox.
 */
import { createHash } from 'node:crypto'
import { copyBytes } from './bytes.js'
import type {
  DocStore,
  DocumentQuery,
  NewVersion,
  QuarantinedUpdate,
  StoredDocumentInfo,
  VersionInfo,
  VersionQuery,
} from './docStore.js'
import { DocumentDeletedError, StoreClosedError } from './errors.js'
import { MemoryOutbox } from './memoryOutbox.js'
import type { ClaimedOutboxEvent, OutboxClaim, OutboxEvent, OutboxStats } from './webhookOutbox.js'

export class MemoryDocStore implements DocStore {
  readonly #logs = new Map<string, Uint8Array[]>()
  readonly #updatedAt = new Map<string, number>()
  readonly #deleted = new Set<string>()
  /** By document, then by digest of the update: one copy of each. */
  readonly #quarantined = new Map<string, Map<string, QuarantinedUpdate>>()
  readonly #contested = new Map<string, Set<number>>()
  /** By document, oldest first. */
  readonly #versions = new Map<string, NewVersion[]>()
  readonly #outbox = new MemoryOutbox()
  #closed = false

  async load(doc: string): Promise<Uint8Array[]> {
    this.#assertOpen()
    if (this.#deleted.has(doc)) throw new DocumentDeletedError(doc)
    return [...(this.#logs.get(doc) ?? [])]
  }

  async append(doc: string, update: Uint8Array, events: readonly OutboxEvent[] = []): Promise<void> {
    this.#assertOpen()
    if (this.#deleted.has(doc)) throw new DocumentDeletedError(doc)
    this.#outbox.record(events)
    const log = this.#logs.get(doc)
    if (log) log.push(update)
    else this.#logs.set(doc, [update])
    this.#updatedAt.set(doc, Date.now())
  }

  async list({ prefix = '', after, limit }: DocumentQuery): Promise<StoredDocumentInfo[]> {
    this.#assertOpen()
    const bytesOf = (name: string) => Buffer.from(name)
    const afterBytes = after === undefined ? undefined : bytesOf(after)
    return [...this.#logs.keys()]
      .filter((name) => name.startsWith(prefix) && (!afterBytes || Buffer.compare(bytesOf(name), afterBytes) > 0))
      .sort((a, b) => Buffer.compare(bytesOf(a), bytesOf(b)))
      .slice(0, limit)
      .map((name) => ({
        name,
        bytes: this.#logs.get(name)!.reduce((sum, update) => sum + update.byteLength, 0),
        updatedAt: this.#updatedAt.get(name),
      }))
  }

  async remove(doc: string, events: readonly OutboxEvent[] = []): Promise<void> {
    this.#assertOpen()
    this.#outbox.record(events)
    this.#outbox.removed(doc)
    this.#deleted.add(doc)
    this.#logs.delete(doc)
    this.#updatedAt.delete(doc)
    this.#versions.delete(doc)
    this.#contested.delete(doc)
  }

  async saveVersion(doc: string, version: NewVersion): Promise<boolean> {
    this.#assertOpen()
    if (this.#deleted.has(doc)) throw new DocumentDeletedError(doc)
    const versions = this.#versions.get(doc) ?? []
    this.#versions.set(doc, versions)
    if (versions.some((stored) => stored.id === version.id)) return false
    versions.push({ ...version, authors: [...version.authors], state: new Uint8Array(version.state) })
    return true
  }

  async listVersions(doc: string, { before, limit }: VersionQuery): Promise<VersionInfo[]> {
    this.#assertOpen()
    if (this.#deleted.has(doc)) throw new DocumentDeletedError(doc)
    const versions = this.#versions.get(doc) ?? []
    const end = before === undefined ? versions.length : versions.findIndex((version) => version.id === before)
    return versions
      .slice(Math.max(0, end - limit), Math.max(0, end))
      .reverse()
      .map(({ state, ...info }) => ({ ...info, bytes: state.byteLength }))
  }

  async loadVersion(doc: string, id: string): Promise<(VersionInfo & { readonly state: Uint8Array }) | undefined> {
    this.#assertOpen()
    if (this.#deleted.has(doc)) throw new DocumentDeletedError(doc)
    const version = this.#versions.get(doc)?.find((stored) => stored.id === id)
    return version && { ...version, bytes: version.state.byteLength, state: new Uint8Array(version.state) }
  }

  async deleteVersions(doc: string, ids: readonly string[]): Promise<number> {
    this.#assertOpen()
    const versions = this.#versions.get(doc)
    if (!versions) return 0
    const gone = new Set(ids)
    const kept = versions.filter((version) => !gone.has(version.id))
    this.#versions.set(doc, kept)
    return versions.length - kept.length
  }

  async ping(): Promise<void> {
    this.#assertOpen()
  }

  async compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    this.#assertOpen()
    const log = this.#logs.get(doc)
    if (!log || log.length < 2) return 0
    this.#logs.set(doc, [merge(log)])
    return log.length
  }

  async compactTo(doc: string, state: Uint8Array): Promise<number> {
    this.#assertOpen()
    const log = this.#logs.get(doc)
    if (!log || log.length < 2) return 0
    this.#logs.set(doc, [copyBytes(state)])
    return log.length
  }

  async quarantine(doc: string, update: Uint8Array, reason: string): Promise<void> {
    this.#assertOpen()
    const digest = createHash('sha256').update(update).digest('hex')
    const aside = this.#quarantined.get(doc) ?? new Map<string, QuarantinedUpdate>()
    this.#quarantined.set(doc, aside)
    if (!aside.has(digest)) aside.set(digest, { update: copyBytes(update), reason })
  }

  async contest(doc: string, clients: readonly number[]): Promise<void> {
    this.#assertOpen()
    const contested = this.#contested.get(doc) ?? new Set<number>()
    this.#contested.set(doc, contested)
    for (const client of clients) contested.add(client)
  }

  async loadContested(doc: string): Promise<number[]> {
    this.#assertOpen()
    return [...(this.#contested.get(doc) ?? [])]
  }

  async loadQuarantined(doc: string): Promise<QuarantinedUpdate[]> {
    this.#assertOpen()
    return [...(this.#quarantined.get(doc)?.values() ?? [])]
  }

  async claimOutbox(claim: OutboxClaim): Promise<ClaimedOutboxEvent[]> {
    this.#assertOpen()
    return this.#outbox.claimOutbox(claim)
  }

  async ackOutbox(ids: readonly string[]): Promise<void> {
    this.#assertOpen()
    return this.#outbox.ackOutbox(ids)
  }

  async retryOutbox(id: string, at: number): Promise<void> {
    this.#assertOpen()
    return this.#outbox.retryOutbox(id, at)
  }

  async outboxStats(): Promise<OutboxStats> {
    this.#assertOpen()
    return this.#outbox.outboxStats()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError()
  }
}
