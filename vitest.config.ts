import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { SummaryLineReporter } from './vitest.summaryLine.js'

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, so no build is needed between an edit and a test run.
    alias: {
      '@concord/protocol': source('./packages/protocol/src/index.ts'),
      '@concord/relay': source('./packages/relay/src/index.ts'),
      '@concord/client': source('./packages/client/src/index.ts'),
      '@concord/react': source('./packages/react/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.{ts,tsx}', 'apps/*/src/**/*.test.{ts,tsx}'],
    reporters: ['default', new SummaryLineReporter()],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
