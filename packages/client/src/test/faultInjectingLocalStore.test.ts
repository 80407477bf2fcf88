import * as fakeIndexedDb from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { IndexedDbLocalStore } from '../indexedDbLocalStore.js'
import { MemoryLocalStore } from '../memoryLocalStore.js'
import { FaultInjectingLocalStore, storeFault } from './faultInjectingLocalStore.js'
import { describeLocalStore } from './localStoreConformance.js'

const { IDBFactory, forceCloseDatabase: _close, indexedDB: _shared, default: _default, ...classes } = fakeIndexedDb
Object.assign(globalThis, classes, { IDBFactory })

let factory = new IDBFactory()

describeLocalStore('FaultInjectingLocalStore over MemoryLocalStore, injecting nothing', {
  create: async () => new FaultInjectingLocalStore(new MemoryLocalStore()),
})

describeLocalStore('FaultInjectingLocalStore over IndexedDbLocalStore, injecting nothing', {
  create: async () =>
    new FaultInjectingLocalStore(await IndexedDbLocalStore.open('faults', { indexedDB: (factory = new IDBFactory()) })),
  reopen: async () => new FaultInjectingLocalStore(await IndexedDbLocalStore.open('faults', { indexedDB: factory })),
})

const update = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('FaultInjectingLocalStore', () => {
  it('fails the next call once by default, with a DOMException that names the fault, and changes nothing', async () => {
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    store.fail('append', { error: storeFault('QuotaExceededError') })
    const failed = store.append('doc', update('a'), true)
    await expect(failed).rejects.toBeInstanceOf(DOMException)
    await expect(failed).rejects.toMatchObject({ name: 'QuotaExceededError' })
    expect((await store.load('doc')).updates).toHaveLength(0)
    await expect(store.append('doc', update('b'), true)).resolves.toBeGreaterThan(0)
    expect((await store.load('doc')).updates).toHaveLength(1)
  })

  it('fails n times, only for the named document, and until cleared', async () => {
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    store.fail('load', { times: 2, doc: 'a' })
    await expect(store.load('b')).resolves.toBeDefined()
    await expect(store.load('a')).rejects.toMatchObject({ name: 'AbortError' })
    await expect(store.load('a')).rejects.toMatchObject({ name: 'AbortError' })
    await expect(store.load('a')).resolves.toBeDefined()

    store.fail('compact', { error: storeFault('InvalidStateError'), times: 'untilCleared' })
    for (let i = 0; i < 5; i++) {
      await expect(store.compact('doc', Y.mergeUpdates)).rejects.toMatchObject({ name: 'InvalidStateError' })
    }
    store.clear('compact')
    await expect(store.compact('doc', Y.mergeUpdates)).resolves.toBe(0)
  })

  it('fails with any error given, and each of acknowledge, mergePending, remove and close', async () => {
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const custom = new Error('custom')
    for (const operation of ['acknowledge', 'mergePending', 'remove', 'close'] as const) {
      store.fail(operation, { error: custom })
    }
    await expect(store.acknowledge('doc', [1])).rejects.toBe(custom)
    await expect(store.mergePending('doc', [1, 2], Y.mergeUpdates)).rejects.toBe(custom)
    await expect(store.remove('doc')).rejects.toBe(custom)
    await expect(store.close()).rejects.toBe(custom)
    await expect(store.close()).resolves.toBeUndefined()
  })

  it('holds stalled calls until released, then runs them in the order they came', async () => {
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    store.stall('append')
    const first = store.append('doc', update('a'), true)
    const second = store.append('doc', update('b'), true)
    await store.whenStalled('append', 2)
    expect(store.stalled('append')).toBe(2)
    expect((await store.load('doc')).updates).toHaveLength(0)
    store.release('append')
    const [a, b] = await Promise.all([first, second])
    expect(a).toBeLessThan(b)
    expect(store.stalled('append')).toBe(0)
    await expect(store.append('doc', update('c'), true)).resolves.toBeGreaterThan(b)
  })

  it('applies a failure set up while a call was stalled when that call is released', async () => {
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    store.stall('append')
    const held = store.append('doc', update('a'), true)
    await store.whenStalled('append')
    store.fail('append', { error: storeFault('AbortError') })
    store.release()
    await expect(held).rejects.toMatchObject({ name: 'AbortError' })
    expect(store.calls).toEqual([{ operation: 'append', doc: 'doc' }])
  })
})
