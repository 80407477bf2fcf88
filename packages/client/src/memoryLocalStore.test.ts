import { MemoryLocalStore } from './memoryLocalStore.js'
import { describeLocalStore } from './test/localStoreConformance.js'

describeLocalStore('MemoryLocalStore', { create: () => Promise.resolve(new MemoryLocalStore()) })
