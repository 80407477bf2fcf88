import { describe, expect, it } from 'vitest'
import { MemoryDocStore } from '../memoryDocStore.js'
import { FaultInjectingDocStore, sqliteFullError } from './faultInjectingDocStore.js'

const update = (n: number): Uint8Array => new Uint8Array([n])
const settled = <T>(promise: Promise<T>): Promise<'resolved' | 'rejected' | 'pending'> =>
  Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 20)),
  ])

describe('FaultInjectingDocStore', () => {
  it('fails once, n times, or until cleared, and a failed append stores nothing', async () => {
    const store = new FaultInjectingDocStore(new MemoryDocStore())
    store.fail('append', { times: 1, error: sqliteFullError() })
    await expect(store.append('d', update(1))).rejects.toMatchObject({ code: 'SQLITE_FULL' })
    await store.append('d', update(2))
    const twice = store.fail('load', { times: 2 })
    await expect(store.load('d')).rejects.toThrow('injected fault: load failed')
    await expect(store.load('d')).rejects.toThrow()
    expect(twice.hits).toBe(2)
    expect(await store.load('d')).toEqual([update(2)])
    const always = store.fail('ping')
    for (let i = 0; i < 3; i++) await expect(store.ping()).rejects.toThrow()
    always.clear()
    await expect(store.ping()).resolves.toBeUndefined()
    expect(store.calls).toMatchObject({ append: 2, load: 3, ping: 4 })
  })

  it('applies a rule to one document only, and after letting some calls through', async () => {
    const store = new FaultInjectingDocStore()
    store.fail('append', { doc: 'b', after: 1 })
    await store.append('a', update(1))
    await store.append('b', update(2))
    await expect(store.append('b', update(3))).rejects.toThrow()
    await store.append('a', update(4))
    expect(await store.inner.load('b')).toEqual([update(2)])
    store.clear()
    await store.append('b', update(5))
  })

  it('holds stalled calls until released, without reaching the inner store', async () => {
    const store = new FaultInjectingDocStore()
    const stall = store.stall('append')
    const held = store.append('d', update(1))
    expect(await settled(held)).toBe('pending')
    expect(stall.waiting).toBe(1)
    expect(store.waiting('append')).toBe(1)
    expect(await store.inner.load('d')).toEqual([])
    stall.release()
    await held
    expect(await store.load('d')).toEqual([update(1)])
    await store.append('d', update(2))
  })

  it('holds only `times` calls, and stalls for a while when told', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load', { times: 1 })
    const first = store.load('d')
    await store.load('d')
    expect(await settled(first)).toBe('pending')
    store.clear('load')
    await first
    store.stall('ping', { forMs: 30 })
    const started = Date.now()
    await store.ping()
    expect(Date.now() - started).toBeGreaterThanOrEqual(25)
  })

  it('holds the answer of a call that already reached the inner store, with `at: answer`', async () => {
    const store = new FaultInjectingDocStore()
    const stall = store.stall('load', { at: 'answer', times: 1 })
    const late = store.load('d')
    await store.append('d', update(1))
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(stall.answered).toBe(1)
    expect(await settled(late)).toBe('pending')
    stall.release()
    // Read before the append: the answer is as it was then.
    expect(await late).toEqual([])
    expect(await store.load('d')).toEqual([update(1)])
  })

  it('lets held calls go on when closed', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('append')
    const held = store.append('d', update(1))
    const closing = store.close()
    await expect(held).resolves.toBeUndefined()
    await closing
  })
})
