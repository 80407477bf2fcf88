/**
 * Owns the default store where there is no IndexedDB and no page (Node): memory, at once.
 * package.json's `imports` gives browser bundles memoryStoreFallback.browser.ts instead, so
 * that what a page never uses by default is not in its bundle up front.
 */
import type { LocalStore } from './localStore.js'
import { MemoryLocalStore } from './memoryLocalStore.js'

export const memoryStoreFallback = (): Promise<LocalStore> => Promise.resolve(new MemoryLocalStore())
