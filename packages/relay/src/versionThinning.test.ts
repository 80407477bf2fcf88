import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore, NewVersion } from './docStore.js'
import { silentLogger } from './logger.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { VersionThinning, type ThinnableStore } from './versionThinning.js'

const hour = 3_600_000
const day = 24 * hour
const now = 20_000 * day

const versionOf = (id: string, createdAt: number, label?: string): NewVersion => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, id)
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return { id, createdAt, label, authors: [], restoredFrom: undefined, state }
}

/** A store holding `documents` documents, each with `perDocument` automatic versions a minute apart two days ago (one per hour kept). */
const storeWith = async (documents: number, perDocument: number): Promise<MemoryDocStore> => {
  const store = new MemoryDocStore()
  for (let index = 0; index < documents; index++) {
    const name = `doc-${String(index).padStart(3, '0')}`
    await store.append(name, Y.encodeStateAsUpdate(new Y.Doc()))
    for (let minute = 0; minute < perDocument; minute++) {
      await store.saveVersion(name, versionOf(`v${minute}`, now - 2 * day + minute * 60_000))
    }
    await store.saveVersion(name, versionOf('named', now - 2 * day + 1, 'kept'))
    await store.saveVersion(name, versionOf('newest', now))
  }
  return store
}

const idsOf = async (store: DocStore, doc: string): Promise<string[]> =>
  (await store.listVersions!(doc, { limit: 1000 })).map((version) => version.id)

let thinnings: VersionThinning[] = []
afterEach(async () => {
  await Promise.all(thinnings.map((thinning) => thinning.stop()))
  thinnings = []
})

const thinningOf = (store: ThinnableStore, options: Partial<ConstructorParameters<typeof VersionThinning>[0]> = {}) => {
  const thinning = new VersionThinning({ store, logger: silentLogger, now: () => now, ...options })
  thinnings.push(thinning)
  return thinning
}

describe('VersionThinning', () => {
  it('drops the automatic versions the tiers drop, keeping named ones and the newest', async () => {
    const store = await storeWith(2, 30)
    const pass = await thinningOf(store).pass()
    expect(pass).toEqual({ documents: 2, deleted: 2 * 29, failures: 0 })
    for (const doc of ['doc-000', 'doc-001']) expect(await idsOf(store, doc)).toEqual(['newest', 'named', 'v0'])
    // Nothing more to do: a second pass deletes nothing.
    expect(await thinningOf(store).pass()).toEqual({ documents: 2, deleted: 0, failures: 0 })
  })

  it('looks at most at maxDocumentsPerPass documents and deletes at most maxDeletionsPerPass, resuming next pass', async () => {
    const store = await storeWith(5, 11)
    const thinning = thinningOf(store, { maxDocumentsPerPass: 2, maxDeletionsPerPass: 25 })
    // 10 to drop per document: two documents, 20 deletions.
    expect(await thinning.pass()).toEqual({ documents: 2, deleted: 20, failures: 0 })
    expect(await idsOf(store, 'doc-002')).toHaveLength(13)
    // The next starts after doc-001: doc-002 and doc-003 (20 more).
    expect(await thinning.pass()).toEqual({ documents: 2, deleted: 20, failures: 0 })
    expect(await idsOf(store, 'doc-003')).toEqual(['newest', 'named', 'v0'])
    expect(await thinning.pass()).toEqual({ documents: 1, deleted: 10, failures: 0 })
    // Wrapped around: from doc-000 again, nothing left.
    expect(await thinning.pass()).toEqual({ documents: 2, deleted: 0, failures: 0 })
  })

  it('stops mid-document at the deletion budget and finishes that document next pass', async () => {
    const store = await storeWith(2, 11)
    const thinning = thinningOf(store, { maxDeletionsPerPass: 4 })
    expect(await thinning.pass()).toEqual({ documents: 1, deleted: 4, failures: 0 })
    expect(await thinning.pass()).toEqual({ documents: 1, deleted: 4, failures: 0 })
    expect(await thinning.pass()).toEqual({ documents: 2, deleted: 4, failures: 0 })
    expect(await idsOf(store, 'doc-000')).toEqual(['newest', 'named', 'v0'])
    expect(await idsOf(store, 'doc-001')).toHaveLength(13 - 2)
  })

  it('is safe when two relays thin the same store at once', async () => {
    const store = await storeWith(3, 40)
    const passes = await Promise.all([thinningOf(store).pass(), thinningOf(store).pass()])
    // Between them every droppable version went once; neither failed.
    expect(passes.reduce((sum, pass) => sum + pass.deleted, 0)).toBe(3 * 39)
    expect(passes.every((pass) => pass.failures === 0)).toBe(true)
    for (const doc of ['doc-000', 'doc-001', 'doc-002'])
      expect(await idsOf(store, doc)).toEqual(['newest', 'named', 'v0'])
  })

  it('logs and counts a document it cannot thin, and goes on with the others', async () => {
    const inner = await storeWith(3, 5)
    const warnings: object[] = []
    let counted = 0
    // A store whose versions of doc-001 cannot be listed (a wrapper of the public interface).
    const store: ThinnableStore = {
      ...inner,
      load: inner.load.bind(inner),
      append: inner.append.bind(inner),
      compact: inner.compact.bind(inner),
      ping: inner.ping.bind(inner),
      close: inner.close.bind(inner),
      list: inner.list.bind(inner),
      deleteVersions: inner.deleteVersions.bind(inner),
      listVersions: async (doc, query) => {
        if (doc === 'doc-001') throw new Error('disk on fire')
        return inner.listVersions(doc, query)
      },
    }
    const logger = { ...silentLogger, warn: (fields: object) => warnings.push(fields) }
    const pass = await thinningOf(store, { logger, observer: { thinningFailed: () => counted++ } }).pass()
    expect(pass).toEqual({ documents: 3, deleted: 2 * 4, failures: 1 })
    expect(counted).toBe(1)
    expect(warnings).toMatchObject([{ doc: 'doc-001', err: { message: 'disk on fire' } }])
  })

  it('runs by itself every intervalMs, and stops', async () => {
    const store = await storeWith(1, 3)
    const thinned = new Promise<number>((resolve) => {
      thinningOf(store, { intervalMs: 10, observer: { versionsThinned: resolve } }).start()
    })
    expect(await thinned).toBe(2)
    expect(await idsOf(store, 'doc-000')).toEqual(['newest', 'named', 'v0'])
  })

  it('refuses tiers out of order', () => {
    expect(() =>
      thinningOf(new MemoryDocStore(), {
        tiers: [
          { olderThanMs: 2, oneEveryMs: 1 },
          { olderThanMs: 1, oneEveryMs: 1 },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'invalidRetentionTiers' }))
  })
})
