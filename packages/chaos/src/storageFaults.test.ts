import { MemoryLocalStore } from '@concord/client'
import { MemoryDocStore } from '@concord/relay'
import { describe, expect, it } from 'vitest'
import { FaultyDocStore, FaultyLocalStore } from './storageFaults.js'

const update = Uint8Array.of(0, 0)

describe('FaultyLocalStore', () => {
  it('fails as many appends as armed, with the DOMException IndexedDB would throw, then passes them through', async () => {
    const store = new FaultyLocalStore(new MemoryLocalStore())
    store.inject({ kind: 'appendFails', times: 2, name: 'QuotaExceededError' })
    await expect(store.append('d', update, true)).rejects.toMatchObject({ name: 'QuotaExceededError' })
    await expect(store.append('d', update, true)).rejects.toMatchObject({ name: 'QuotaExceededError' })
    await store.append('d', update, true)
    expect((await store.load('d')).updates).toHaveLength(1)
  })

  it('as sabotage, drops every 50th local append while resolving it', async () => {
    const store = new FaultyLocalStore(new MemoryLocalStore(), { dropAppends: true })
    for (let i = 0; i < 100; i++) await store.append('d', update, true)
    expect((await store.load('d')).updates).toHaveLength(98)
  })
})

describe('FaultyDocStore', () => {
  it('fails armed appends and loads, with SQLITE_FULL for a full disk', async () => {
    const store = new FaultyDocStore(new MemoryDocStore())
    store.inject({ kind: 'diskFull', times: 1 })
    store.inject({ kind: 'loadFails', times: 1 })
    await expect(store.append('d', update)).rejects.toMatchObject({ code: 'SQLITE_FULL' })
    await expect(store.load('d')).rejects.toThrow()
    await store.append('d', update)
    expect(await store.load('d')).toHaveLength(1)
    expect(store.injected).toBe(2)
  })

  it('keeps appends in order when one stalls', async () => {
    const store = new FaultyDocStore(new MemoryDocStore())
    store.inject({ kind: 'appendStalls', times: 1, ms: 100 })
    const order: number[] = []
    await Promise.all([
      store.append('d', Uint8Array.of(1)).then(() => order.push(1)),
      store.append('d', Uint8Array.of(2)).then(() => order.push(2)),
    ])
    expect(order).toEqual([1, 2])
  })

  it('as sabotage, resolves an append before the inner store has it', async () => {
    const store = new FaultyDocStore(new MemoryDocStore(), { acksEarly: true })
    await store.append('d', update)
    expect(await store.load('d')).toHaveLength(0)
  })
})
