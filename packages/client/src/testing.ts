/**
 * The entry point `@concord/client/testing`: what the client's own tests use,
 * for the tests of an app or of a LocalStore written outside this
 * repository. The conformance suite is written for vitest, so this entry
 * needs vitest installed beside it; nothing else in the package loads it,
 * so it is no dependency of the package.
 */
export { describeLocalStore, type LocalStoreFactory } from './test/localStoreConformance.js'
export { FakeWebSocket, fakeWebSockets } from './test/fakeWebSocket.js'
export * from './test/faultInjectingLocalStore.js'
