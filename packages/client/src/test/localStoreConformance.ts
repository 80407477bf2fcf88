/**
 * Owns the behaviour every LocalStore must have. A store's test file calls
 * `describeLocalStore` with a factory; stores that persist also pass
 * `reopen`, which must return a new store over the same data.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import type { LocalStore, StoredDocument } from '../localStore.js'

export interface LocalStoreFactory {
  create(): Promise<LocalStore>
  /** A new store over the data of the last one created (which is closed first). */
  reopen?(): Promise<LocalStore>
  cleanup?(): Promise<void>
}

const textOf = ({ snapshot, updates }: StoredDocument): string => {
  const doc = new Y.Doc()
  if (snapshot) Y.applyUpdate(doc, snapshot)
  for (const { update } of updates) Y.applyUpdate(doc, update)
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

const bytesOf = (document: StoredDocument) => ({
  snapshot: document.snapshot && [...document.snapshot],
  updates: document.updates.map(({ id, update, pending }) => ({ id, update: [...update], pending })),
})

const failingMerge = (): Uint8Array => {
  throw new Error('merge failed')
}

export const describeLocalStore = (name: string, factory: LocalStoreFactory): void => {
  describe(`LocalStore conformance: ${name}`, () => {
    let store: LocalStore

    afterEach(async () => {
      await store?.close()
      await factory.cleanup?.()
    })

    it('loads nothing for a new document', async () => {
      store = await factory.create()
      expect(await store.load('never-written')).toEqual({ snapshot: undefined, updates: [] })
    })

    it('loads appended updates in order, byte for byte, with their ids and pending flags', async () => {
      store = await factory.create()
      const updates = typing(5)
      const ids: number[] = []
      for (const [i, update] of updates.entries()) ids.push(await store.append('doc', update, i % 2 === 0))
      const loaded = await store.load('doc')
      expect(loaded.snapshot).toBeUndefined()
      for (const { update } of loaded.updates) expect(update).toBeInstanceOf(Uint8Array)
      expect(bytesOf(loaded).updates).toEqual(
        updates.map((update, i) => ({ id: ids[i], update: [...update], pending: i % 2 === 0 })),
      )
      expect(textOf(loaded)).toBe('abcde')
    })

    it('gives ids that increase with every append, across documents', async () => {
      store = await factory.create()
      const [first, second, third] = typing(3)
      const ids = [
        await store.append('a', first!, true),
        await store.append('b', second!, false),
        await store.append('a', third!, false),
      ]
      expect(ids[1]).toBeGreaterThan(ids[0]!)
      expect(ids[2]).toBeGreaterThan(ids[1]!)
    })

    it('resolves appends made in one turn in order, and loads them without awaiting', async () => {
      store = await factory.create()
      const order: number[] = []
      const appends = typing(30).map((update, i) => store.append('doc', update, true).then(() => order.push(i)))
      const loaded = await store.load('doc')
      expect(loaded.updates).toHaveLength(30)
      const ids = loaded.updates.map(({ id }) => id)
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
      await Promise.all(appends)
      expect(order).toEqual([...Array(30).keys()])
    })

    it('keeps its own copy of the bytes, and only the bytes of a view', async () => {
      store = await factory.create()
      const [update] = typing(1)
      const frame = new Uint8Array(update!.length + 8)
      frame.set(update!, 4)
      const view = frame.subarray(4, 4 + update!.length)
      await store.append('doc', view, false)
      frame.fill(0)
      const [stored] = (await store.load('doc')).updates
      expect([...stored!.update]).toEqual([...update!])
      expect(stored!.update.buffer.byteLength).toBe(update!.length)
    })

    it('acknowledges only the given updates of the given document', async () => {
      store = await factory.create()
      const updates = typing(4)
      const a1 = await store.append('a', updates[0]!, true)
      const a2 = await store.append('a', updates[1]!, true)
      const a3 = await store.append('a', updates[2]!, true)
      const b1 = await store.append('b', updates[3]!, true)
      await store.acknowledge('a', [a1, a3, b1, b1 + 1000])
      const pendingOf = async (doc: string) => (await store.load(doc)).updates.map(({ id, pending }) => [id, pending])
      expect(await pendingOf('a')).toEqual([
        [a1, false],
        [a2, true],
        [a3, false],
      ])
      expect(await pendingOf('b')).toEqual([[b1, true]])
      await store.acknowledge('never-written', [a2])
      await store.acknowledge('a', [])
      expect(await pendingOf('a')).toEqual([
        [a1, false],
        [a2, true],
        [a3, false],
      ])
    })

    it('compacts the snapshot and acknowledged updates into one snapshot, keeping pending updates as they are', async () => {
      store = await factory.create()
      const updates = typing(10)
      for (const update of updates.slice(0, 6)) await store.append('doc', update, false)
      expect(await store.compact('doc', Y.mergeUpdates)).toBe(6)
      const compacted = await store.load('doc')
      expect(compacted.snapshot).toBeInstanceOf(Uint8Array)
      expect(compacted.updates).toEqual([])
      expect(textOf(compacted)).toBe('abcdef')

      const pending6 = await store.append('doc', updates[6]!, true)
      await store.append('doc', updates[7]!, false)
      const pending8 = await store.append('doc', updates[8]!, true)
      const acknowledged9 = await store.append('doc', updates[9]!, true)
      await store.acknowledge('doc', [acknowledged9])
      const merge = vi.fn(Y.mergeUpdates)
      expect(await store.compact('doc', merge)).toBe(2)
      expect(merge).toHaveBeenCalledOnce()
      expect(merge.mock.calls[0]![0].map((update) => [...update])).toEqual(
        [compacted.snapshot!, updates[7]!, updates[9]!].map((update) => [...update]),
      )

      const loaded = await store.load('doc')
      expect(bytesOf(loaded).updates).toEqual([
        { id: pending6, update: [...updates[6]!], pending: true },
        { id: pending8, update: [...updates[8]!], pending: true },
      ])
      expect(textOf(loaded)).toBe('abcdefghij')
    })

    it('merges nothing when every update left is pending', async () => {
      store = await factory.create()
      const updates = typing(3)
      await store.append('doc', updates[0]!, false)
      await store.compact('doc', Y.mergeUpdates)
      await store.append('doc', updates[1]!, true)
      await store.append('doc', updates[2]!, true)
      const before = bytesOf(await store.load('doc'))
      const merge = vi.fn(Y.mergeUpdates)
      expect(await store.compact('doc', merge)).toBe(0)
      expect(await store.compact('never-written', merge)).toBe(0)
      expect(merge).not.toHaveBeenCalled()
      expect(bytesOf(await store.load('doc'))).toEqual(before)
    })

    it('leaves everything as it was when the merge throws', async () => {
      store = await factory.create()
      const updates = typing(4)
      await store.append('doc', updates[0]!, false)
      await store.compact('doc', Y.mergeUpdates)
      await store.append('doc', updates[1]!, false)
      await store.append('doc', updates[2]!, true)
      await store.append('doc', updates[3]!, false)
      const before = bytesOf(await store.load('doc'))
      await expect(store.compact('doc', failingMerge)).rejects.toThrow('merge failed')
      expect(bytesOf(await store.load('doc'))).toEqual(before)
      expect(await store.compact('doc', Y.mergeUpdates)).toBe(2)
      expect(textOf(await store.load('doc'))).toBe('abcd')
    })

    it('keeps an append made while compaction runs', async () => {
      store = await factory.create()
      const [first, second, third] = typing(3)
      await store.append('doc', first!, false)
      await store.append('doc', second!, false)
      const compaction = store.compact('doc', Y.mergeUpdates)
      const late = store.append('doc', third!, false)
      await Promise.all([compaction, late])
      expect(textOf(await store.load('doc'))).toBe('abc')
    })

    it('merges pending updates into one pending update under the greatest id, leaving the others', async () => {
      store = await factory.create()
      const updates = typing(6)
      const ids: number[] = []
      for (const [i, update] of updates.entries()) ids.push(await store.append('doc', update, i !== 2))
      await store.append('other', updates[0]!, true)
      const merging = [ids[4]!, ids[0]!, ids[3]!, ids[1]!]
      const merge = vi.fn(Y.mergeUpdates)
      expect(await store.mergePending('doc', merging, merge)).toBe(true)
      expect(merge.mock.calls[0]![0].map((update) => [...update])).toEqual(
        [updates[0]!, updates[1]!, updates[3]!, updates[4]!].map((update) => [...update]),
      )

      const loaded = await store.load('doc')
      expect(loaded.updates.map(({ id, pending }) => ({ id, pending }))).toEqual([
        { id: ids[2], pending: false },
        { id: ids[4], pending: true },
        { id: ids[5], pending: true },
      ])
      expect(textOf(loaded)).toBe('abcdef')
      expect((await store.load('other')).updates).toHaveLength(1)

      await store.acknowledge('doc', [ids[4]!])
      expect((await store.load('doc')).updates.map(({ pending }) => pending)).toEqual([false, false, true])
    })

    it('merges no pending updates when one of them is missing, acknowledged or of another document', async () => {
      store = await factory.create()
      const updates = typing(4)
      const first = await store.append('doc', updates[0]!, true)
      const second = await store.append('doc', updates[1]!, true)
      const acknowledged = await store.append('doc', updates[2]!, true)
      await store.acknowledge('doc', [acknowledged])
      const elsewhere = await store.append('other', updates[3]!, true)
      const before = bytesOf(await store.load('doc'))
      const merge = vi.fn(Y.mergeUpdates)
      expect(await store.mergePending('doc', [first, second, acknowledged], merge)).toBe(false)
      expect(await store.mergePending('doc', [first, second, elsewhere], merge)).toBe(false)
      expect(await store.mergePending('doc', [first, second, elsewhere + 1000], merge)).toBe(false)
      expect(await store.mergePending('doc', [first], merge)).toBe(false)
      expect(merge).not.toHaveBeenCalled()
      expect(bytesOf(await store.load('doc'))).toEqual(before)
      await expect(store.mergePending('doc', [first, second], failingMerge)).rejects.toThrow('merge failed')
      expect(bytesOf(await store.load('doc'))).toEqual(before)
    })

    it('keeps documents apart, whatever their names', async () => {
      store = await factory.create()
      const names = ['a', 'a/b', '../a', "x'; DROP TABLE updates; --", 'ü ✓ 😀', 'a%2e%2e', 'A', '']
      const ids: number[] = []
      for (const [i, doc] of names.entries()) {
        for (const update of typing(i + 1, i + 1)) ids.push(await store.append(doc, update, true))
      }
      await store.acknowledge('a', ids)
      await store.acknowledge('A', ids)
      await store.compact('A', Y.mergeUpdates)
      await store.remove('a/b')
      for (const [i, doc] of names.entries()) {
        const loaded = await store.load(doc)
        expect(textOf(loaded)).toBe(doc === 'a/b' ? '' : 'abcdefgh'.slice(0, i + 1))
        expect(loaded.snapshot === undefined).toBe(doc !== 'A')
        expect(loaded.updates.map(({ pending }) => pending)).toEqual(
          doc === 'a' ? [false] : doc === 'a/b' || doc === 'A' ? [] : Array(i + 1).fill(true),
        )
      }
    })

    it('removes everything stored for a document, and only for it', async () => {
      store = await factory.create()
      const updates = typing(3)
      await store.append('doc', updates[0]!, false)
      await store.compact('doc', Y.mergeUpdates)
      await store.append('doc', updates[1]!, true)
      await store.append('other', updates[0]!, true)
      await store.remove('doc')
      await store.remove('never-written')
      expect(await store.load('doc')).toEqual({ snapshot: undefined, updates: [] })
      expect(textOf(await store.load('other'))).toBe('a')
    })

    it('rejects every operation after close with code storeClosed', async () => {
      store = await factory.create()
      const [update] = typing(1)
      await store.append('doc', update!, true)
      await store.close()
      const closed = { code: 'storeClosed' }
      await expect(store.load('doc')).rejects.toMatchObject(closed)
      await expect(store.append('doc', update!, true)).rejects.toMatchObject(closed)
      await expect(store.acknowledge('doc', [1])).rejects.toMatchObject(closed)
      await expect(store.compact('doc', Y.mergeUpdates)).rejects.toMatchObject(closed)
      await expect(store.mergePending('doc', [1, 2], Y.mergeUpdates)).rejects.toMatchObject(closed)
      await expect(store.mergePending('doc', [1], Y.mergeUpdates)).rejects.toMatchObject(closed)
      await expect(store.remove('doc')).rejects.toMatchObject(closed)
      await expect(store.close()).resolves.toBeUndefined()
    })

    if (factory.reopen) {
      const reopen = factory.reopen
      it('keeps, after close and reopen, the snapshot, every update and every pending flag', async () => {
        store = await factory.create()
        const updates = typing(8)
        for (const update of updates.slice(0, 3)) await store.append('doc', update, false)
        await store.compact('doc', Y.mergeUpdates)
        const ids = updates.slice(3).map((update, i) => store.append('doc', update, i % 2 === 0))
        await store.acknowledge('doc', [await ids[0]!])
        await store.append('other', updates[0]!, true)
        const before = { doc: bytesOf(await store.load('doc')), other: bytesOf(await store.load('other')) }
        await store.close()

        store = await reopen()
        const after = { doc: bytesOf(await store.load('doc')), other: bytesOf(await store.load('other')) }
        expect(after).toEqual(before)
        expect(after.doc.updates.map(({ pending }) => pending)).toEqual([false, false, true, false, true])
        expect(textOf(await store.load('doc'))).toBe('abcdefgh')
        const lastId = Math.max(...after.doc.updates.map(({ id }) => id), ...after.other.updates.map(({ id }) => id))
        expect(await store.append('doc', typing(1, 2)[0]!, true)).toBeGreaterThan(lastId)
      })

      it('keeps, after close and reopen, appends made just before close', async () => {
        store = await factory.create()
        const updates = typing(20)
        for (const update of updates) void store.append('doc', update, true)
        await store.close()
        store = await reopen()
        const loaded = await store.load('doc')
        expect(loaded.updates.map(({ update, pending }) => [[...update], pending])).toEqual(
          updates.map((update) => [[...update], true]),
        )
      })
    }
  })
}
