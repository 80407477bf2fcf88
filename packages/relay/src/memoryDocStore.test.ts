import { MemoryDocStore } from './memoryDocStore.js'
import { describeDocStore } from './test/docStoreConformance.js'

describeDocStore('MemoryDocStore', { create: () => Promise.resolve(new MemoryDocStore()) })
