/**
 * Owns what the notes-react tests share: one relay for the run serving the
 * built apps/notes-react (not the demo), people with a browser of their own
 * pointed at it, and the steps a person takes in that app.
 */
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test as base, expect, type BrowserContext, type Locator, type Page } from '@playwright/test'
import { ServedRelay } from './servedRelay.js'

export { expect }

const artifactsDir = fileURLToPath(new URL('./artifacts/', import.meta.url))

/** Writes a screenshot of the page to e2e/artifacts/NAME.png. */
export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(artifactsDir, { recursive: true })
  await page.screenshot({ path: `${artifactsDir}${name}.png` })
}

export const test = base.extend<{ newWriter: (name: string) => Promise<Page> }, { notesRelay: ServedRelay }>({
  notesRelay: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a fixture needs from this pattern.
    async ({}, use) => {
      const relay = await ServedRelay.start({ app: 'notes-react' })
      await use(relay)
      await relay.dispose()
    },
    { scope: 'worker', timeout: 30_000 },
  ],
  /** A person on a device of their own: a new browser context (own storage), with the app open and a name. */
  newWriter: async ({ browser, notesRelay }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (name) => {
      const context = await browser.newContext({ baseURL: notesRelay.url, viewport: { width: 1100, height: 700 } })
      contexts.push(context)
      const page = await context.newPage()
      await page.goto('/')
      const input = page.getByTestId('user-name')
      await input.fill(name)
      await input.press('Enter')
      return page
    })
    for (const context of contexts) await context.close()
  },
})

/** Creates a note from the sidebar and gives it `title`; it is then open. */
export const createNote = async (page: Page, title: string): Promise<void> => {
  await page.getByTestId('new-document').click()
  await page.getByTestId('document-title').fill(title)
  await expect(page.getByRole('link', { name: title })).toBeVisible()
}

export const openNote = async (page: Page, title: string): Promise<void> => {
  await page.getByRole('link', { name: title }).click()
  await expect(page.getByTestId('document-title')).toHaveValue(title)
}

/** The editable ProseMirror element. */
export const editor = (page: Page): Locator => page.getByTestId('editor-content')

/** Puts the caret at the end of the note's text. */
export const caretAtEnd = async (page: Page): Promise<void> => {
  await editor(page).click()
  await page.keyboard.press('Control+End')
}

/** The note as HTML, without the other people's cursors and selections: what formatting it holds. */
export const noteHtml = (page: Page): Promise<string> =>
  editor(page).evaluate((content) => {
    const copy = content.cloneNode(true) as HTMLElement
    for (const cursor of copy.querySelectorAll('.ProseMirror-yjs-cursor')) cursor.remove()
    for (const selection of copy.querySelectorAll('.ProseMirror-yjs-selection'))
      selection.replaceWith(...selection.childNodes)
    for (const filler of copy.querySelectorAll('.ProseMirror-trailingBreak, img.ProseMirror-separator')) filler.remove()
    copy.normalize()
    return copy.innerHTML
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
