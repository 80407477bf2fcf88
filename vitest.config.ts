import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { SummaryLineReporter } from './vitest.summaryLine.js'

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, so no build is needed between an edit and a test run.
    alias: [
      // The vitest-free kits of test servers and of the relay as a process.
      { find: /^@concord\/relay\/testing\/servers$/, replacement: source('./packages/relay/src/test/servers.ts') },
      { find: /^@concord\/relay-service\/testing$/, replacement: source('./apps/relay/src/testing.ts') },
      { find: /^@concord\/client\/y-websocket$/, replacement: source('./packages/client/src/yWebsocket.ts') },
      { find: /^@concord\/protocol\/y-websocket$/, replacement: source('./packages/protocol/src/yWebsocket.ts') },
      // The client's package.json `imports` point at dist/; its tests run the Node variant's source.
      { find: /^#memoryStoreFallback$/, replacement: source('./packages/client/src/memoryStoreFallback.ts') },
      { find: /^@concord\/protocol\/history$/, replacement: source('./packages/protocol/src/historyFrames.ts') },
      // An entry point `@concord/<package>/<name>` is src/<name>.ts, as dist/<name>.js is built from it.
      { find: /^@concord\/(protocol|relay|client)\/([a-z]+)$/, replacement: source('./packages/$1/src/$2.ts') },
      { find: /^@concord\/(protocol|relay|client|react)$/, replacement: source('./packages/$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.{ts,tsx}', 'apps/*/src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts'],
    reporters: ['default', new SummaryLineReporter()],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
