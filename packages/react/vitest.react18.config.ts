/**
 * Runs @concord/react's tests on React 18 (the oldest React its peer range
 * allows; the workspace's React is 19): `pnpm test:react18`. React and
 * ReactDOM come from packages/react/react18, and React Testing Library from
 * its ESM build, so that the aliases reach its imports too.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import base from '../../vitest.config.js'

const react18 = fileURLToPath(new URL('./react18/node_modules/', import.meta.url))
const testingLibrary = createRequire(import.meta.url).resolve('@testing-library/react')

export default defineConfig({
  ...base,
  resolve: {
    alias: [
      // The base config's aliases come first: an array of { find, replacement }.
      ...((base.resolve?.alias ?? []) as Array<{ find: string | RegExp; replacement: string }>),
      {
        find: /^@testing-library\/react$/,
        replacement: join(dirname(testingLibrary), '@testing-library/react.esm.js'),
      },
      ...[
        'react',
        'react/jsx-runtime',
        'react/jsx-dev-runtime',
        'react-dom',
        'react-dom/client',
        'react-dom/test-utils',
      ].map((name) => ({
        find: new RegExp(`^${name}$`),
        replacement: `${react18}${name.includes('/') ? name : `${name}/index`}.js`,
      })),
    ],
  },
  test: {
    ...base.test,
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['packages/react/src/**/*.test.{ts,tsx}'],
    server: { deps: { inline: [/@testing-library/] } },
  },
})
