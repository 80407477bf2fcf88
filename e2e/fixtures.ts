/**
 * Owns what every end-to-end test shares: one relay for the run (tests run
 * one at a time, and some restart it), people with a browser of their own
 * pointed at it, and the steps a person takes in the demo, named as that
 * person would name them.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test'
import { ServedRelay } from './servedRelay.js'

export { expect }

const artifactsDir = fileURLToPath(new URL('./artifacts/', import.meta.url))

export const test = base.extend<{ newPerson: (name: string) => Promise<Page> }, { relay: ServedRelay }>({
  relay: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a fixture needs from this pattern.
    async ({}, use) => {
      const relay = await ServedRelay.start()
      await use(relay)
      await relay.dispose()
    },
    { scope: 'worker', timeout: 30_000 },
  ],
  /** A person on a device of their own: a new browser context (own storage), with the app open and a name. */
  newPerson: async ({ browser, relay }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (name) => {
      const context = await browser.newContext({ baseURL: relay.url, viewport: { width: 1100, height: 640 } })
      contexts.push(context)
      const page = await context.newPage()
      await page.goto('/')
      await setName(page, name)
      return page
    })
    for (const context of contexts) await context.close()
  },
})

export const setName = async (page: Page, name: string): Promise<void> => {
  const input = page.getByTestId('user-name')
  await input.fill(name)
  await input.press('Tab')
}

/** Creates a document from the sidebar and gives it `title`; it is then open. */
export const createDocument = async (page: Page, title: string): Promise<void> => {
  await page.getByTestId('new-document').click()
  await page.getByTestId('document-title').fill(title)
  await expect(page.getByRole('link', { name: title })).toBeVisible()
}

export const openDocument = async (page: Page, title: string): Promise<void> => {
  await page.getByRole('link', { name: title }).click()
  await expect(page.getByTestId('document-title')).toHaveValue(title)
}

export const editor = (page: Page) => page.getByTestId('editor').locator('.cm-content')

/** Types `text` at the end of the document's text. */
export const typeAtEnd = async (page: Page, text: string): Promise<void> => {
  await editor(page).click()
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text)
}

/** The text a person reads in the editor, without the other people's cursors and names. */
export const editorText = (page: Page): Promise<string> =>
  editor(page).evaluate((content) => {
    const copy = content.cloneNode(true) as HTMLElement
    for (const widget of copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder')) widget.remove()
    return [...copy.querySelectorAll('.cm-line')].map((line) => line.textContent ?? '').join('\n')
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

/** Writes a screenshot of the page to e2e/artifacts/NAME.png. */
export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(artifactsDir, { recursive: true })
  await page.screenshot({ path: `${artifactsDir}${name}.png` })
}
