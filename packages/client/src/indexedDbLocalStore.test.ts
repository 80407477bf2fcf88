import * as fakeIndexedDb from 'fake-indexeddb'
import { afterEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { IndexedDbLocalStore } from './indexedDbLocalStore.js'
import { describeLocalStore } from './test/localStoreConformance.js'

// idb tells IndexedDB objects apart by `instanceof` the global classes, which
// Node lacks. Only the classes are installed: each test passes its own factory.
const { IDBFactory, forceCloseDatabase, indexedDB: _shared, default: _default, ...classes } = fakeIndexedDb
Object.assign(globalThis, classes, { IDBFactory })

const updatesOf = (count: number): Uint8Array[] => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let i = 0; i < count; i++) doc.getText('t').insert(i, 'x')
  return updates
}

/** Opens a store and returns it with its underlying IDBDatabase, to act on the connection as a browser would. */
const openWithConnection = async (factory: IDBFactory, name: string) => {
  const open = vi.spyOn(factory, 'open')
  const store = await IndexedDbLocalStore.open(name, { indexedDB: factory })
  const request = open.mock.results[0]!.value as IDBOpenDBRequest
  open.mockRestore()
  return { store, connection: request.result }
}

let factory = new IDBFactory()

describeLocalStore('IndexedDbLocalStore', {
  create: () => IndexedDbLocalStore.open('test', { indexedDB: (factory = new IDBFactory()) }),
  reopen: () => IndexedDbLocalStore.open('test', { indexedDB: factory }),
})

afterEach(() => {
  vi.restoreAllMocks()
})

it('stores each store name in its own database, apart from the others on the same IndexedDB', async () => {
  const indexedDB = new IDBFactory()
  const one = await IndexedDbLocalStore.open('one', { indexedDB })
  const two = await IndexedDbLocalStore.open('two', { indexedDB })
  const [first, second] = updatesOf(2)
  await one.append('doc', first!, true)
  await two.append('doc', second!, false)
  await one.compact('doc', Y.mergeUpdates)
  expect((await one.load('doc')).updates.map(({ pending }) => pending)).toEqual([true])
  expect(await two.load('doc')).toMatchObject({ snapshot: undefined, updates: [{ pending: false }] })
  expect((await indexedDB.databases()).map(({ name }) => name).sort()).toEqual(['concord:one', 'concord:two'])
  await Promise.all([one.close(), two.close()])
})

it('keeps the old state when compaction fails between its writes, as after a crash', async () => {
  const store = await IndexedDbLocalStore.open('test', { indexedDB: new IDBFactory() })
  for (const update of updatesOf(3)) await store.append('doc', update, false)
  const before = await store.load('doc')
  // The snapshot is written and one update deleted, then the second delete fails: the transaction must abort.
  const deleteRecord = IDBObjectStore.prototype.delete
  let deletes = 0
  vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(function (this: IDBObjectStore, key) {
    if (++deletes === 2) throw new Error('crashed')
    return deleteRecord.call(this, key)
  })
  await expect(store.compact('doc', Y.mergeUpdates)).rejects.toThrow('crashed')
  vi.restoreAllMocks()
  expect(await store.load('doc')).toEqual(before)
  await store.close()
})

it('closes on versionchange, so another tab can upgrade or delete the database', async () => {
  const indexedDB = new IDBFactory()
  const store = await IndexedDbLocalStore.open('test', { indexedDB })
  await store.append('doc', updatesOf(1)[0]!, true)
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.open('concord:test', 2)
    request.onblocked = () => reject(new Error('blocked'))
    request.onsuccess = () => {
      request.result.close()
      resolve()
    }
  })
  await expect(store.load('doc')).rejects.toMatchObject({ code: 'storeClosed', message: /another connection/ })
  await expect(IndexedDbLocalStore.open('test', { indexedDB })).rejects.toThrow(
    'the IndexedDB database "concord:test" has a schema newer than 1',
  )
  await store.close()
})

it('reports closed once the browser closes the connection', async () => {
  const { store, connection } = await openWithConnection(new IDBFactory(), 'test')
  const closed = new Promise((resolve) => connection.addEventListener('close', resolve))
  forceCloseDatabase(connection as unknown as Parameters<typeof forceCloseDatabase>[0])
  await closed
  await expect(store.append('doc', updatesOf(1)[0]!, true)).rejects.toMatchObject({
    code: 'storeClosed',
    message: /by the browser/,
  })
})

it('explains what is missing when there is no IndexedDB', async () => {
  expect(globalThis.indexedDB).toBeUndefined()
  await expect(IndexedDbLocalStore.open()).rejects.toThrow('no IndexedDB here')
})

it('resolves close once the operations already started have settled', async () => {
  const store = await IndexedDbLocalStore.open('test', { indexedDB: new IDBFactory() })
  const settled: string[] = []
  const [first, second] = updatesOf(2)
  void store.append('doc', first!, true).then(() => settled.push('append'))
  void store.compact('doc', Y.mergeUpdates).then(() => settled.push('compact'))
  void store.append('doc', second!, true).then(() => settled.push('append'))
  await store.close()
  expect(settled).toEqual(['append', 'compact', 'append'])
})
