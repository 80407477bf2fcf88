/**
 * The entry point `@concord/relay-service/testing`: the built concord-relay
 * as a child process, for the tests of this app and of the client, the chaos
 * harness, the benchmarks and e2e/. It loads no test framework.
 */
export * from './relayProcess.js'
