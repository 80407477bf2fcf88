import { describe, expect, it } from 'vitest'
import { StoreTimeoutError } from './errors.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { timedStore } from './timedStore.js'

/** A MemoryDocStore whose appends settle only when the test says so, in any order. */
const heldAppends = () => {
  const store = new MemoryDocStore()
  const held: { resolve: () => void; reject: (error: unknown) => void }[] = []
  const append = (): Promise<void> => new Promise((resolve, reject) => held.push({ resolve, reject }))
  return { store: Object.assign(store, { append }), held }
}

const update = new Uint8Array([0, 0])

describe('timedStore', () => {
  it('rejects a call the store does not answer with StoreTimeoutError, and passes on answers in time', async () => {
    const { store, held } = heldAppends()
    const timed = timedStore(store, 100)
    const answered = timed.append('a', update)
    const stalled = timed.append('a', update)
    const failed = timed.append('a', update)
    held[0]!.resolve()
    held[2]!.reject(new Error('disk on fire'))
    await expect(answered).resolves.toBeUndefined()
    await expect(failed).rejects.toThrow('disk on fire')
    await expect(stalled).rejects.toBeInstanceOf(StoreTimeoutError)
    // The store's late answer is ignored.
    held[1]!.resolve()
    await expect(stalled).rejects.toMatchObject({ code: 'storeTimeout' })
  })

  it('gives each call the whole timeout from when it was made, whatever came before it', async () => {
    const { store, held } = heldAppends()
    const timeoutMs = 150
    const timed = timedStore(store, timeoutMs)
    // The first call arms the shared timer; it settles, and a later call is still waiting when that timer fires.
    const first = timed.append('a', update)
    held[0]!.resolve()
    await first
    await new Promise((resolve) => setTimeout(resolve, timeoutMs / 2))
    const madeAt = performance.now()
    const later = timed.append('a', update)
    const rejectedAt = await later.then(
      () => Number.NaN,
      (error: unknown) => {
        expect(error).toBeInstanceOf(StoreTimeoutError)
        return performance.now()
      },
    )
    expect(rejectedAt - madeAt).toBeGreaterThanOrEqual(timeoutMs - 1)
  })

  it('times out every stalled call of a long queue, oldest first, while the others are answered', async () => {
    const { store, held } = heldAppends()
    const timed = timedStore(store, 100)
    const calls = Array.from({ length: 3000 }, () => timed.append('a', update))
    const timedOut: number[] = []
    calls.forEach((call, i) =>
      call.catch((error: unknown) => {
        if (error instanceof StoreTimeoutError) timedOut.push(i)
      }),
    )
    // Every call but each 1000th is answered; the queue drops the answered ones as it goes.
    held.forEach((one, i) => i % 1000 !== 999 && one.resolve())
    await Promise.allSettled(calls)
    expect(timedOut).toEqual([999, 1999, 2999])
  })
})
