/**
 * Owns the behaviour every DocStore must have. A store's test file calls
 * `describeDocStore` with a factory; stores that persist also pass `reopen`,
 * which must return a new store over the same data.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore, NewVersion } from '../docStore.js'
import { mergeUpdates } from '../yjsUpdates.js'

export interface DocStoreFactory {
  create(): Promise<DocStore>
  /** A new store over the data of the last one created (which is closed first). */
  reopen?(): Promise<DocStore>
  cleanup?(): Promise<void>
  /** The store implements the optional `compactTo`: its tests run. */
  readonly compactsTo?: boolean
}

const textOf = (updates: Uint8Array[]): string => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

/** `count` updates, each inserting one letter at the end of text 't'. */
const typing = (count: number, clientID = 1): Uint8Array[] => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) doc.getText('t').insert(i, String.fromCharCode(97 + (i % 26)))
  return updates
}

/** A version of `text` in text 't', taken at `createdAt`. */
const versionOf = (id: string, text: string, createdAt: number, extra: Partial<NewVersion> = {}): NewVersion => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  const state = Y.encodeStateAsUpdate(doc)
  return { id, createdAt, label: undefined, authors: [], restoredFrom: undefined, state, ...extra }
}

type VersionStore = DocStore & Required<Pick<DocStore, 'saveVersion' | 'listVersions' | 'loadVersion'>>

/** True when the store keeps versions; a store with only some of the three methods fails here. */
const keepsVersions = (store: DocStore): store is VersionStore => {
  const methods = [store.saveVersion, store.listVersions, store.loadVersion]
  if (methods.every((method) => method === undefined)) return false
  expect(methods.map((method) => typeof method)).toEqual(['function', 'function', 'function'])
  return true
}

export const describeDocStore = (name: string, factory: DocStoreFactory): void => {
  describe(`DocStore conformance: ${name}`, () => {
    let store: DocStore

    afterEach(async () => {
      await store?.close()
      await factory.cleanup?.()
    })

    it('loads nothing for a new document', async () => {
      store = await factory.create()
      expect(await store.load('never-written')).toEqual([])
    })

    it('loads appended updates in order, byte for byte', async () => {
      store = await factory.create()
      const updates = typing(5)
      for (const update of updates) await store.append('doc', update)
      const loaded = await store.load('doc')
      expect(loaded.map((u) => [...u])).toEqual(updates.map((u) => [...u]))
    })

    it('resolves appends made in one turn, in order, and loads them without awaiting', async () => {
      store = await factory.create()
      const order: number[] = []
      const appends = typing(50).map((update, i) => store.append('doc', update).then(() => order.push(i)))
      expect(textOf(await store.load('doc'))).toHaveLength(50)
      await Promise.all(appends)
      expect(order).toEqual([...Array(50).keys()])
    })

    it('keeps documents apart, whatever their names', async () => {
      store = await factory.create()
      const names = ['a', 'a/b', '../a', "x'; DROP TABLE updates; --", 'ü ✓ 😀', 'a%2e%2e', 'A']
      for (const [i, doc] of names.entries()) await store.append(doc, typing(i + 1)[i]!)
      for (const doc of names) expect(await store.load(doc)).toHaveLength(1)
      expect(
        textOf(
          typing(3)
            .slice(0, 2)
            .concat(await store.load(names[2]!)),
        ),
      ).toBe('abc')
    })

    it('compacts a log into one equivalent update', async () => {
      store = await factory.create()
      const updates = typing(300)
      for (const update of updates) void store.append('doc', update)
      expect(await store.compact('doc', mergeUpdates)).toBe(300)
      const loaded = await store.load('doc')
      expect(loaded).toHaveLength(1)
      expect(textOf(loaded)).toBe(textOf(updates))
      expect(await store.compact('doc', mergeUpdates)).toBe(0)
    })

    it('keeps an append made while compaction runs', async () => {
      store = await factory.create()
      const [first, second, third] = typing(3)
      await store.append('doc', first!)
      await store.append('doc', second!)
      const compaction = store.compact('doc', mergeUpdates)
      const late = store.append('doc', third!)
      await Promise.all([compaction, late])
      expect(textOf(await store.load('doc'))).toBe('abc')
    })

    it('leaves the log intact when the merge throws', async () => {
      store = await factory.create()
      for (const update of typing(3)) await store.append('doc', update)
      await expect(
        store.compact('doc', () => {
          throw new Error('merge failed')
        }),
      ).rejects.toThrow('merge failed')
      expect(await store.load('doc')).toHaveLength(3)
    })

    it(`${factory.compactsTo ? 'implements' : 'does not implement'} compactTo`, async () => {
      store = await factory.create()
      expect(typeof store.compactTo).toBe(factory.compactsTo ? 'function' : 'undefined')
    })

    if (factory.compactsTo) {
      it('compacts a log into the merged update given, without reading it', async () => {
        store = await factory.create()
        const updates = typing(300)
        for (const update of updates) void store.append('doc', update)
        // Made before the appends are durable: what they wrote is all in it.
        const state = mergeUpdates(updates)
        expect(await store.compactTo!('doc', state)).toBe(300)
        const loaded = await store.load('doc')
        expect(loaded.map((u) => [...u])).toEqual([[...state]])
        expect(await store.compactTo!('doc', state)).toBe(0)
        expect(await store.compactTo!('never-written', state)).toBe(0)
      })

      it('keeps an append made after compactTo, after the merged update', async () => {
        store = await factory.create()
        const [first, second, third] = typing(3)
        await store.append('doc', first!)
        await store.append('doc', second!)
        const compaction = store.compactTo!('doc', mergeUpdates([first!, second!]))
        const late = store.append('doc', third!)
        expect(await compaction).toBe(2)
        await late
        const loaded = await store.load('doc')
        expect(loaded).toHaveLength(2)
        expect(textOf(loaded)).toBe('abc')
      })
    }

    it('refuses appends after close', async () => {
      store = await factory.create()
      await store.close()
      await expect(store.append('doc', typing(1)[0]!)).rejects.toMatchObject({ code: 'storeClosed' })
    })

    it('answers a ping while open, changing nothing, and refuses one after close', async () => {
      store = await factory.create()
      await expect(store.ping()).resolves.toBeUndefined()
      await store.append('doc', typing(1)[0]!)
      await expect(store.ping()).resolves.toBeUndefined()
      expect(await store.load('doc')).toHaveLength(1)
      await store.close()
      await expect(store.ping()).rejects.toMatchObject({ code: 'storeClosed' })
    })

    it('lists documents with stored updates by name, a page at a time, with their bytes and time', async () => {
      store = await factory.create()
      if (!store.list) return
      const before = Date.now()
      const names = ['b', 'a/2', 'a/1', 'a/10', 'é', 'z', 'a']
      for (const name of names) await store.append(name, typing(2)[0]!)
      await store.append('a/1', typing(2)[1]!)
      await store.compact('a/1', mergeUpdates)
      const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
      const all = await store.list({ limit: 100 })
      expect(all.map((doc) => doc.name)).toEqual(byBytes)
      const a1 = all.find((doc) => doc.name === 'a/1')!
      expect(a1.bytes).toBe((await store.load('a/1')).reduce((sum, update) => sum + update.byteLength, 0))
      expect(a1.updatedAt).toBeGreaterThanOrEqual(before - 1000)
      expect(a1.updatedAt).toBeLessThanOrEqual(Date.now() + 1000)

      expect((await store.list({ prefix: 'a/', limit: 100 })).map((doc) => doc.name)).toEqual(['a/1', 'a/10', 'a/2'])
      const first = await store.list({ prefix: 'a', limit: 2 })
      expect(first.map((doc) => doc.name)).toEqual(['a', 'a/1'])
      const second = await store.list({ prefix: 'a', after: 'a/1', limit: 2 })
      expect(second.map((doc) => doc.name)).toEqual(['a/10', 'a/2'])
      expect(await store.list({ prefix: 'a', after: 'a/2', limit: 2 })).toEqual([])
      expect(await store.list({ prefix: 'nothing', limit: 10 })).toEqual([])
    })

    it('removes a document for good: its log is gone, and loads and appends of it are refused', async () => {
      store = await factory.create()
      if (!store.remove) return
      const [first, second] = typing(2)
      await store.append('doomed', first!)
      await store.append('kept', first!)
      await store.remove('doomed')
      await expect(store.load('doomed')).rejects.toMatchObject({ code: 'documentDeleted' })
      await expect(store.append('doomed', second!)).rejects.toMatchObject({ code: 'documentDeleted' })
      // An append in the same commit as another document's still lands.
      const [refused, stored] = await Promise.allSettled([
        store.append('doomed', second!),
        store.append('kept', second!),
      ])
      expect(refused.status).toBe('rejected')
      expect(stored.status).toBe('fulfilled')
      expect(textOf(await store.load('kept'))).toBe('ab')
      if (store.list) expect((await store.list({ limit: 10 })).map((doc) => doc.name)).toEqual(['kept'])
      await expect(store.remove('never-written')).resolves.toBeUndefined()
      await expect(store.load('never-written')).rejects.toMatchObject({ code: 'documentDeleted' })
      if (factory.reopen) {
        await store.close()
        store = await factory.reopen()
        await expect(store.load('doomed')).rejects.toMatchObject({ code: 'documentDeleted' })
      }
    })

    it('records contested clients per document, once each, and forgets them with the document (or has neither method)', async () => {
      store = await factory.create()
      if (!store.contest || !store.loadContested) {
        expect([store.contest, store.loadContested]).toEqual([undefined, undefined])
        return
      }
      expect(await store.loadContested('doc')).toEqual([])
      await store.contest('doc', [7, 2 ** 32 + 1])
      await store.contest('doc', [7])
      await store.contest('other', [9])
      expect((await store.loadContested('doc')).sort((a, b) => a - b)).toEqual([7, 2 ** 32 + 1])
      expect(await store.loadContested('other')).toEqual([9])
      if (store.remove) {
        await store.remove('doc')
        expect(await store.loadContested('doc')).toEqual([])
        expect(await store.loadContested('other')).toEqual([9])
      }
    })

    it('keeps a quarantined update aside, once, apart from the log (or has neither method)', async () => {
      store = await factory.create()
      if (!store.quarantine || !store.loadQuarantined) {
        expect([store.quarantine, store.loadQuarantined]).toEqual([undefined, undefined])
        return
      }
      const [first, second] = typing(2)
      await store.append('doc', first!)
      await store.quarantine('doc', second!, 'contradicts 1:0')
      await store.quarantine('doc', second!, 'contradicts 1:0')
      await store.quarantine('other', first!, 'does not merge')
      expect(await store.load('doc')).toHaveLength(1)
      const aside = await store.loadQuarantined('doc')
      expect(aside.map(({ update, reason }) => [[...update], reason])).toEqual([[[...second!], 'contradicts 1:0']])
      expect(await store.loadQuarantined('other')).toHaveLength(1)
      expect(await store.loadQuarantined('never-written')).toEqual([])
      // A compaction of the log leaves what was kept aside alone.
      await store.append('doc', second!)
      await store.compact('doc', mergeUpdates)
      expect(await store.loadQuarantined('doc')).toHaveLength(1)
    })

    it('keeps versions beside the log, newest first, a page at a time (or has none of the methods)', async () => {
      store = await factory.create()
      if (!keepsVersions(store)) return
      const first = versionOf('v1', 'one', 1_000, { authors: ['ada', 'bob'] })
      expect(await store.saveVersion('doc', first)).toBe(true)
      expect(await store.saveVersion('doc', versionOf('v2', 'two', 2_000, { label: 'named ✓' }))).toBe(true)
      const third = versionOf('v3', 'three', 3_000, { label: 'restored from v1', restoredFrom: 'v1' })
      expect(await store.saveVersion('doc', third)).toBe(true)
      // The same id again (another relay that took the same version) keeps the first.
      expect(await store.saveVersion('doc', versionOf('v1', 'other', 9_000))).toBe(false)
      // Another document may use the same id.
      expect(await store.saveVersion('other', versionOf('v1', 'elsewhere', 1_500))).toBe(true)

      const all = await store.listVersions('doc', { limit: 10 })
      expect(all).toEqual([
        {
          id: 'v3',
          createdAt: 3_000,
          label: 'restored from v1',
          authors: [],
          restoredFrom: 'v1',
          bytes: third.state.byteLength,
        },
        expect.objectContaining({ id: 'v2', label: 'named ✓', restoredFrom: undefined }),
        {
          id: 'v1',
          createdAt: 1_000,
          label: undefined,
          authors: ['ada', 'bob'],
          restoredFrom: undefined,
          bytes: first.state.byteLength,
        },
      ])
      const page = await store.listVersions('doc', { limit: 2 })
      expect(page.map((version) => version.id)).toEqual(['v3', 'v2'])
      const next = await store.listVersions('doc', { before: 'v2', limit: 2 })
      expect(next.map((version) => version.id)).toEqual(['v1'])
      expect(await store.listVersions('doc', { before: 'v1', limit: 2 })).toEqual([])
      expect(await store.listVersions('never-written', { limit: 2 })).toEqual([])

      const loaded = await store.loadVersion('doc', 'v1')
      expect(loaded && textOf([loaded.state])).toBe('one')
      expect(loaded).toMatchObject({ id: 'v1', createdAt: 1_000, authors: ['ada', 'bob'] })
      expect(textOf([(await store.loadVersion('other', 'v1'))!.state])).toBe('elsewhere')
      expect(await store.loadVersion('doc', 'v4')).toBeUndefined()
      expect(await store.loadVersion('never-written', 'v1')).toBeUndefined()
    })

    it('keeps versions through compactions, and removes them with their document', async () => {
      store = await factory.create()
      if (!keepsVersions(store)) return
      for (const update of typing(3)) await store.append('doc', update)
      await store.saveVersion('doc', versionOf('v1', 'ab', 1_000))
      await store.compact('doc', mergeUpdates)
      expect(await store.listVersions('doc', { limit: 10 })).toHaveLength(1)
      expect(textOf([(await store.loadVersion('doc', 'v1'))!.state])).toBe('ab')
      if (!store.remove) return
      await store.saveVersion('kept', versionOf('v1', 'kept', 1_000))
      await store.remove('doc')
      await expect(store.listVersions('doc', { limit: 10 })).rejects.toMatchObject({ code: 'documentDeleted' })
      await expect(store.loadVersion('doc', 'v1')).rejects.toMatchObject({ code: 'documentDeleted' })
      await expect(store.saveVersion('doc', versionOf('v2', 'x', 2_000))).rejects.toMatchObject({
        code: 'documentDeleted',
      })
      expect(await store.listVersions('kept', { limit: 10 })).toHaveLength(1)
    })

    it('deletes versions by id, idempotently, and only those of the document named (or has no deleteVersions)', async () => {
      store = await factory.create()
      if (!keepsVersions(store) || !store.deleteVersions) return
      for (const [index, id] of ['v1', 'v2', 'v3', 'v4'].entries()) {
        await store.saveVersion('doc', versionOf(id, `text ${id}`, 1_000 * (index + 1)))
      }
      await store.saveVersion('other', versionOf('v2', 'elsewhere', 1_500))
      expect(await store.deleteVersions('doc', ['v2', 'v4', 'never-saved'])).toBe(2)
      // Again (another relay thinning at the same time): nothing more, no error.
      expect(await store.deleteVersions('doc', ['v2', 'v4'])).toBe(0)
      expect(await store.deleteVersions('doc', [])).toBe(0)
      expect(await store.deleteVersions('never-written', ['v1'])).toBe(0)
      expect((await store.listVersions('doc', { limit: 10 })).map((version) => version.id)).toEqual(['v3', 'v1'])
      expect(await store.loadVersion('doc', 'v2')).toBeUndefined()
      expect(textOf([(await store.loadVersion('doc', 'v3'))!.state])).toBe('text v3')
      // Paging still works around the gaps, and the other document keeps its v2.
      expect((await store.listVersions('doc', { before: 'v3', limit: 10 })).map((version) => version.id)).toEqual([
        'v1',
      ])
      expect(textOf([(await store.loadVersion('other', 'v2'))!.state])).toBe('elsewhere')
      if (store.remove) {
        await store.remove('doc')
        expect(await store.deleteVersions('doc', ['v1', 'v3'])).toBe(0)
      }
    })

    if (factory.reopen) {
      const reopen = factory.reopen
      it('keeps, after close and reopen, every version saved before close', async () => {
        store = await factory.create()
        if (!keepsVersions(store)) return
        await store.saveVersion('doc', versionOf('v1', 'kept', 1_000, { label: 'first', authors: ['ada'] }))
        await store.close()
        store = await reopen()
        if (!keepsVersions(store)) throw new Error('the reopened store keeps no versions')
        expect(await store.listVersions('doc', { limit: 10 })).toMatchObject([{ id: 'v1', label: 'first' }])
        expect(textOf([(await store.loadVersion('doc', 'v1'))!.state])).toBe('kept')
      })

      it('keeps, after close and reopen, every append made before close', async () => {
        store = await factory.create()
        const updates = typing(20)
        for (const update of updates) void store.append('doc', update)
        await store.close()
        store = await reopen()
        expect(textOf(await store.load('doc'))).toBe(textOf(updates))
      })

      it('keeps, after close and reopen, the contested clients', async () => {
        store = await factory.create()
        if (!store.contest) return expect(store.loadContested).toBeUndefined()
        await store.contest('doc', [42])
        await store.close()
        store = await reopen()
        expect(await store.loadContested!('doc')).toEqual([42])
      })

      it('keeps, after close and reopen, what was quarantined', async () => {
        store = await factory.create()
        if (!store.quarantine) return expect(store.loadQuarantined).toBeUndefined()
        await store.quarantine('doc', typing(1)[0]!, 'kept aside')
        await store.close()
        store = await reopen()
        expect(await store.loadQuarantined!('doc')).toHaveLength(1)
      })
    }
  })
}
