import { MemoryDocStore } from './memoryDocStore.js'
import { describeDocStore } from './test/docStoreConformance.js'
import { describeDocStoreOutbox } from './test/outboxConformance.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'

describeDocStore('MemoryDocStore', { create: () => Promise.resolve(new MemoryDocStore()), compactsTo: true })

// The fault wrapper, injecting nothing, must be the store it wraps.
describeDocStore('FaultInjectingDocStore over MemoryDocStore, injecting nothing', {
  create: () => Promise.resolve(new FaultInjectingDocStore(new MemoryDocStore())),
})

describeDocStoreOutbox('MemoryDocStore', { create: () => Promise.resolve(new MemoryDocStore()) })
