/**
 * memoryStoreFallback.ts for browser bundles: there, a scope without IndexedDB and without a
 * page is rare (a worker in a browser that has none), so the memory store loads on that use.
 */
import type { LocalStore } from './localStore.js'

export const memoryStoreFallback = (): Promise<LocalStore> =>
  import('./memoryLocalStore.js').then(({ MemoryLocalStore }) => new MemoryLocalStore())
