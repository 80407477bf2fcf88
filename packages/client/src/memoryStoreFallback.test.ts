import { describe, expect, it } from 'vitest'
import { memoryStoreFallback as browserFallback } from './memoryStoreFallback.browser.js'
import { memoryStoreFallback } from './memoryStoreFallback.js'
import { MemoryLocalStore } from './memoryLocalStore.js'

describe('memoryStoreFallback', () => {
  it('is a memory store in Node and in browser bundles alike, a new one each time', async () => {
    for (const fallback of [memoryStoreFallback, browserFallback]) {
      const [first, second] = await Promise.all([fallback(), fallback()])
      expect(first).toBeInstanceOf(MemoryLocalStore)
      expect(second).toBeInstanceOf(MemoryLocalStore)
      expect(first).not.toBe(second)
    }
  })
})
