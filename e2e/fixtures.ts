/**
 * Owns what every end-to-end test shares: one relay for the run (tests run
 * one at a time, and some restart it), people with a browser of their own
 * pointed at it, and the steps a person takes in the demo, named as that
 * person would name them.
 */
import { expect, type Page } from '@playwright/test'
import { openings, testWithPeople } from './people.js'

export { expect }
export {
  createDocument,
  expectSynced,
  goToDocument,
  openDocument,
  openDocumentId,
  screenshot,
  whenAppCached,
} from './people.js'

export const test = testWithPeople({
  app: 'demo',
  viewport: { width: 1100, height: 640 },
  enterName: (page, name) => setName(page, name),
})

export const setName = async (page: Page, name: string): Promise<void> => {
  const input = page.getByTestId('user-name')
  await input.fill(name)
  await input.press('Tab')
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

export const { shareDocument, typeOffline } = openings({ editor, typeAtEnd })
