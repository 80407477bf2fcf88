/**
 * The entry point `@concord/relay/testing`: what the relay's own tests use,
 * for the tests of an app or of an adapter written outside this repository.
 * The conformance suite is written for vitest, so this entry needs vitest
 * installed beside it; nothing else in the package loads it, so it is no
 * dependency of the package (a peer would be installed into every deployment).
 */
export { describeDocStore, type DocStoreFactory } from './test/docStoreConformance.js'
export { describeDocStoreOutbox, type OutboxStoreFactory } from './test/outboxConformance.js'
export { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'
export { NativeTestClient, type TestDocument } from './test/nativeTestClient.js'
export { ControlledStore } from './test/controlledStore.js'
export { ManualClock } from './test/manualClock.js'
export * from './test/faultInjectingDocStore.js'
export { freePort, startPostgres, startRedis, type PostgresServer, type RedisServer } from './test/servers.js'
