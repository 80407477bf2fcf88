/**
 * Runs the end-to-end tests in Debian's Chromium (browsers cannot be
 * downloaded here), one test at a time against one relay, bounded in time.
 */
import { existsSync } from 'node:fs'
import { defineConfig } from '@playwright/test'

const chromium = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(chromium)) {
  throw new Error(
    `Chromium is not at ${chromium}. Install it (\`apt-get install chromium\`; .ci/run does) ` +
      'or set CONCORD_CHROMIUM to the path of a Chromium or Chrome binary.',
  )
}

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: 'artifacts/test-results',
  // One relay for the run, which some tests restart: tests run one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  // The whole run, bounded: about 25 tests of 5 to 20 s each on a loaded machine, with room to spare.
  globalTimeout: 360_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['./summaryLine.ts']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    },
    actionTimeout: 10_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
})
