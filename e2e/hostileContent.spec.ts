/**
 * Another writer sends the demo valid Yjs it did not expect: an embed in the
 * text, values of the wrong type in the shared lists, a presence whose
 * colour is CSS. Every visitor's page must stay usable, say what it left
 * out, and load nothing from elsewhere, now and after a reload.
 */
import type { Page } from '@playwright/test'
import * as Y from 'yjs'
import {
  createDocument,
  editor,
  editorText,
  expect,
  expectSynced,
  goToDocument,
  openDocumentId,
  test,
  typeAtEnd,
} from './fixtures.js'
import { HostileWriter } from './hostileWriter.js'

/** Types in the editor and sees it appear: the page's main thread is free and the editor takes input. */
const expectTypable = async (page: Page, text: string): Promise<void> => {
  await typeAtEnd(page, text)
  await expect(editor(page)).toContainText(text)
}

test('an embedded object in the text is shown as a placeholder with a notice, and the page stays usable', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Embeds')
  await typeAtEnd(alice, 'Before.')
  await expectSynced(alice)
  const writer = await HostileWriter.connect(browser, relay.url, openDocumentId(alice))
  await writer.write((doc) => {
    const body = doc.getText('body')
    body.insertEmbed(0, { image: 'http://198.51.100.7/embed.png' })
    body.insert(1, 'formatted', { bold: { of: ['an', 'unknown', 'shape'] } })
    body.insertEmbed(10, new Y.Map())
  })

  // The page still answers and takes input, and so does a later visitor's.
  await expectTypable(alice, ' After.')
  const bob = await newPerson('Bob')
  await goToDocument(bob, openDocumentId(alice))
  await expect(editor(bob)).toContainText('After.')
  await expectTypable(bob, ' Bob was here.')
  // Both show text only, with a placeholder for each object, and say what they did not show.
  for (const page of [alice, bob]) {
    await expect.poll(() => editorText(page)).toContain('\uFFFCformatted\uFFFC')
    await expect(page.getByTestId('editor-notice')).toContainText('2 embedded objects that are not text')
    await expect(page.getByTestId('editor-notice')).toContainText('Formatting in this text')
  }
  await expectSynced(alice)
  await expect.poll(() => editorText(bob)).toBe(await editorText(alice))

  // Content of a Y.Array put into the text (it counts in the text's length but is in no delta).
  const forger = new Y.Doc()
  forger.getArray('body').push([{ any: 'json' }])
  await writer.sendUpdate(Y.encodeStateAsUpdate(forger))
  await expect(alice.getByTestId('editor-notice')).toContainText('3 embedded objects')
  await expectTypable(alice, ' Aligned.')
  await expect(editor(bob)).toContainText('Aligned.')
  await expect.poll(() => editorText(bob)).toBe(await editorText(alice))

  // A reload from this browser's store shows the same, and takes input.
  await alice.reload()
  await expect(alice.getByTestId('editor-notice')).toContainText('3 embedded objects')
  await expect(editor(alice)).toContainText('Bob was here.')
  await expectTypable(alice, ' Reloaded.')
  // Deleting everything deletes the objects too, for everyone; the forged content, which Yjs cannot
  // delete from a text, stays, shown as a placeholder, and typing goes on around it.
  await editor(alice).click()
  await alice.keyboard.press('Control+A')
  await alice.keyboard.press('Delete')
  await expect(alice.getByTestId('editor-notice')).toContainText('an embedded object')
  await expect(bob.getByTestId('editor-notice')).toContainText('an embedded object')
  await expect.poll(() => editorText(alice)).toBe('\uFFFC')
  await expectTypable(alice, 'Fresh start.')
  await expect(editor(bob)).toContainText('Fresh start.')
  await expect.poll(() => editorText(bob)).toBe(await editorText(alice))
  expect((await editorText(alice)).replace('\uFFFC', '')).toBe('Fresh start.')
  await writer.close()
})

test('entries of the wrong shape in the shared lists are skipped and shown as such, across reloads', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Good one')
  await alice.getByTestId('todo-input').fill('Milk')
  await alice.getByTestId('todo-input').press('Enter')
  await expectSynced(alice)
  const docId = openDocumentId(alice)

  const list = await HostileWriter.connect(browser, relay.url, 'concord-demo:documents')
  await list.write((doc) => {
    const documents = doc.getMap('documents')
    documents.set('doc-bigint', { title: 'BigInt', createdAt: 10n })
    documents.set('doc-string', 'just a string')
    documents.set('doc-untitled', { title: 42, createdAt: 1 })
    documents.set('doc-shared', new Y.Map())
  })
  const todos = await HostileWriter.connect(browser, relay.url, docId)
  await todos.write((doc) => {
    const bad = new Y.Map<unknown>()
    bad.set('text', 12n)
    doc.getArray('todos').push(['a plain string', 42, { text: 'a plain object' }, bad, new Y.Text('text')])
  })

  const expectListsShown = async (page: Page, todoTexts = ['Milk', 'Bread']): Promise<void> => {
    await expect(page.getByRole('link', { name: 'Good one' })).toBeVisible()
    await expect(page.getByTestId('documents-skipped')).toHaveText('4 entries of the wrong shape, not shown')
    await expect(page.getByTestId('todo').locator('label')).toHaveText(todoTexts)
    await expect(page.getByTestId('todo-wrong-shape')).toHaveCount(5)
  }
  await expectListsShown(alice, ['Milk'])
  // Still syncing: what Alice adds now reaches the relay and another device.
  await alice.getByTestId('todo-input').fill('Bread')
  await alice.getByTestId('todo-input').press('Enter')
  await expect(alice.getByTestId('todo').locator('label')).toHaveText(['Milk', 'Bread'])
  await expectSynced(alice)
  const bob = await newPerson('Bob')
  await goToDocument(bob, docId)
  await expect(bob.getByTestId('todo').locator('label')).toHaveText(['Milk', 'Bread'])
  await expectListsShown(bob)

  await alice.reload()
  await expectListsShown(alice)
  await expectSynced(alice)
  // A wrong-shaped item can be removed like any other.
  await alice.getByTestId('todo-wrong-shape').first().getByRole('button', { name: 'Remove' }).click()
  await expect(bob.getByTestId('todo-wrong-shape')).toHaveCount(4)
  await list.close()
  await todos.close()
})

test('a presence whose colour is CSS draws no overlay and loads nothing from elsewhere; pages carry a CSP', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  const outside: string[] = []
  alice.on('request', (request) => {
    if (!request.url().startsWith(relay.url) && !request.url().startsWith('data:')) outside.push(request.url())
  })
  const violations: string[] = []
  alice.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  await createDocument(alice, 'Presence')
  await typeAtEnd(alice, 'Some text for a cursor.')
  await expectSynced(alice)

  const writer = await HostileWriter.connect(browser, relay.url, openDocumentId(alice))
  const body = writer.doc.getText('body')
  await writer.write(() => body.insert(0, 'Mallory: '))
  const hostile = 'red;position:fixed;inset:0;z-index:2147483647;background:url(http://198.51.100.7/pixel.png)'
  await writer.present({
    user: { name: `Mallory ${'M'.repeat(500)}`, color: hostile, colorLight: hostile },
    cursor: {
      anchor: Y.createRelativePositionFromTypeIndex(body, 0),
      head: Y.createRelativePositionFromTypeIndex(body, 7),
    },
  })
  // Mallory is shown, with a bounded name and a neutral colour.
  const caret = alice.locator('.cm-ySelectionCaret')
  await expect(caret).toHaveCount(1)
  await expect(alice.locator('.cm-ySelectionInfo')).toHaveText(`Mallory ${'M'.repeat(32)}`)
  await expect(alice.getByTestId('presence')).toContainText('Mallory')
  const styles = await alice
    .locator('.cm-ySelectionCaret, .cm-ySelection')
    .evaluateAll((elements) => elements.map((element) => element.getAttribute('style') ?? ''))
  expect(styles.length).toBeGreaterThan(1)
  for (const style of styles) expect(style).not.toMatch(/position|url|inset|z-index/)
  // Clicks still reach the page and the editor.
  await alice.getByTestId('todo-input').click({ timeout: 10_000 })
  await alice.keyboard.type('Clicked')
  await expect(alice.getByTestId('todo-input')).toHaveValue('Clicked')
  await expectTypable(alice, ' Typed after.')

  // A malformed cursor is left out, and the page carries on.
  await writer.present({ user: { name: 'Mallory', color: '#00ff00' }, cursor: { anchor: { item: 'x' }, head: 7 } })
  await expect(alice.locator('.cm-ySelectionCaret')).toHaveCount(0)
  await expect(alice.getByTestId('presence')).toContainText('Mallory')
  await expectTypable(alice, ' Still fine.')

  const page = await alice.request.get('/')
  const policy = page.headers()['content-security-policy'] ?? ''
  expect(policy).toContain("script-src 'self'")
  expect(policy).toContain("img-src 'self'")
  expect(policy).toContain("connect-src 'self'")
  // The built demo runs under it, service worker included, and made no request elsewhere.
  await alice.reload()
  await expect(alice.getByTestId('document-title')).toHaveValue('Presence')
  await alice.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
  await expectSynced(alice)
  expect(violations).toEqual([])
  expect(outside).toEqual([])
  await writer.close()
})
