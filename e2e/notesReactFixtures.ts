/**
 * Owns what the notes-react tests share: one relay for the run serving the
 * built apps/notes-react (not the demo), people with a browser of their own
 * pointed at it, and the steps a person takes in that app.
 */
import { expect, type Locator, type Page } from '@playwright/test'
import { openings, testWithPeople } from './people.js'

export { expect }
export { expectSynced, goToDocument, openDocumentId, screenshot, whenAppCached } from './people.js'
/** The sidebar is the demo's: a note is a document there. */
export { createDocument as createNote, openDocument as openNote } from './people.js'

export const test = testWithPeople({
  app: 'notes-react',
  viewport: { width: 1100, height: 700 },
  enterName: async (page, name) => {
    const input = page.getByTestId('user-name')
    await input.fill(name)
    await input.press('Enter')
  },
})

/** The editable ProseMirror element. */
export const editor = (page: Page): Locator => page.getByTestId('editor-content')

/** Puts the caret at the end of the note's text. */
export const caretAtEnd = async (page: Page): Promise<void> => {
  await editor(page).click()
  await page.keyboard.press('Control+End')
}

/** Types `text` at the end of the note. */
export const typeAtEnd = async (page: Page, text: string): Promise<void> => {
  await caretAtEnd(page)
  await page.keyboard.type(text)
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

export const { shareDocument, typeOffline } = openings({ editor, typeAtEnd })
