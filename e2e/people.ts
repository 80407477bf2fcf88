/**
 * Owns what the fixtures of both apps share: one relay for the run serving
 * an app, people with a browser of their own pointed at it, and the steps
 * that read the same in both apps (the status bar, the cached shell,
 * screenshots). Each app's fixtures add the steps of its own screens.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test'
import { ServedRelay, type ServedApp } from './servedRelay.js'

export { expect }

export interface PeopleOptions {
  readonly app: ServedApp
  readonly viewport: { readonly width: number; readonly height: number }
  /** How a person types their name in this app once it is open. */
  readonly enterName: (page: Page, name: string) => Promise<void>
}

/** A test that has `relay` (one for the worker, serving `app`) and `newPerson` (a fresh browser context each). */
export const testWithPeople = ({ app, viewport, enterName }: PeopleOptions) =>
  base.extend<{ newPerson: (name: string) => Promise<Page> }, { relay: ServedRelay }>({
    relay: [
      // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a fixture needs from this pattern.
      async ({}, use) => {
        const relay = await ServedRelay.start({ app })
        await use(relay)
        await relay.dispose()
      },
      { scope: 'worker', timeout: 30_000 },
    ],
    /** A person on a device of their own: a new browser context (own storage), with the app open and a name. */
    newPerson: async ({ browser, relay }, use) => {
      const contexts: BrowserContext[] = []
      await use(async (name) => {
        const context = await browser.newContext({ baseURL: relay.url, viewport: { ...viewport } })
        contexts.push(context)
        const page = await context.newPage()
        await page.goto('/')
        await enterName(page, name)
        return page
      })
      for (const context of contexts) await context.close()
    },
  })

/** The status bar says what it says once everything this page did is on the relay. */
export const expectSynced = async (page: Page, timeout = 15_000): Promise<void> => {
  await expect(page.getByTestId('connection')).toHaveText('Online', { timeout })
  await expect(page.getByTestId('sync-status')).toHaveText('Synced', { timeout })
  await expect(page.getByTestId('pending')).toHaveText('0', { timeout })
}

/** Resolves once the service worker holds the app shell, so a reload works without the relay. */
export const whenAppCached = async (page: Page): Promise<void> => {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
}

const artifactsDir = fileURLToPath(new URL('./artifacts/', import.meta.url))

/** Writes a screenshot of the page to e2e/artifacts/NAME.png. */
export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(artifactsDir, { recursive: true })
  await page.screenshot({ path: `${artifactsDir}${name}.png` })
}
