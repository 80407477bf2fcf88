/**
 * Owns what the fixtures of both apps share: one relay for the run serving
 * an app, people with a browser of their own pointed at it, and the steps
 * that read the same in both apps (the sidebar, the address of a document,
 * the status bar, the cached shell, screenshots, and the openings many specs
 * share). Each app's fixtures add the steps of its own screens.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type BrowserContext, type Locator, type Page } from '@playwright/test'
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

/** Creates a document from the sidebar and gives it `title`; it is then open. */
export const createDocument = async (page: Page, title: string): Promise<void> => {
  await page.getByTestId('new-document').click()
  await page.getByTestId('document-title').fill(title)
  await expect(page.getByRole('link', { name: title })).toBeVisible()
}

/** Opens the document `title` from the sidebar. */
export const openDocument = async (page: Page, title: string): Promise<void> => {
  await page.getByRole('link', { name: title }).click()
  await expect(page.getByTestId('document-title')).toHaveValue(title)
}

/** The id of the document open in `page`: both apps keep it in the address, as `#/<id>`. */
export const openDocumentId = (page: Page): string => decodeURIComponent(new URL(page.url()).hash.slice(2))

/** Opens the document `id` by its address, as a link someone shared does. */
export const goToDocument = async (page: Page, id: string): Promise<void> => {
  await page.goto(`/#/${encodeURIComponent(id)}`)
}

/** How a person writes in an app: its editor, and typing at the end of it. */
export interface AppWriting {
  readonly editor: (page: Page) => Locator
  readonly typeAtEnd: (page: Page, text: string) => Promise<void>
}

/** The openings that specs of both apps share, written with the app's `writing`. */
export const openings = ({ editor, typeAtEnd }: AppWriting) => ({
  /** `first` creates `title` and types `text`; once it is on the relay, `second` has it open and sees it. */
  async shareDocument(first: Page, second: Page, title: string, text: string): Promise<void> {
    await createDocument(first, title)
    await openDocument(second, title)
    await typeAtEnd(first, text)
    await expectSynced(first)
    await expect(editor(second)).toContainText(text)
  },
  /** `page` loses its connection, then types `text`: kept on the device, pending. */
  async typeOffline(page: Page, text: string): Promise<void> {
    await page.context().setOffline(true)
    await expect(page.getByTestId('connection')).toHaveText('Offline')
    await typeAtEnd(page, text)
    await expect(page.getByTestId('pending')).not.toHaveText('0')
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
