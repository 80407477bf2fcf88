/** The History panel: save a version, preview it, restore it while another window is offline. */
import type { Page } from '@playwright/test'
import {
  createDocument,
  editor,
  editorText,
  expect,
  expectSynced,
  openDocument,
  screenshot,
  test,
  typeAtEnd,
} from './fixtures.js'

const addTodo = async (page: Page, text: string): Promise<void> => {
  await page.getByTestId('todo-input').fill(text)
  await page.getByTestId('todo-input').press('Enter')
}

const todos = (page: Page) => page.getByTestId('todo').locator('label')
const versions = (page: Page) => page.getByRole('list', { name: 'Versions' }).getByRole('listitem')

test('a version saved as "v1" is previewed and restored in one window; both show it, offline edits merge', async ({
  newPerson,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createDocument(alice, 'History')
  await openDocument(bob, 'History')
  await expect(alice.getByRole('list', { name: 'Versions' })).toHaveText('No versions yet.')

  await typeAtEnd(alice, 'First draft.')
  await addTodo(alice, 'Buy milk')
  await expectSynced(alice)
  await alice.getByRole('textbox', { name: 'Version label' }).fill('v1')
  await alice.getByRole('button', { name: 'Save version' }).click()
  await expect(alice.getByRole('status').filter({ hasText: 'Saved "v1".' })).toBeVisible()
  await expect(versions(alice).first()).toContainText('v1')

  await typeAtEnd(alice, ' More words.')
  await addTodo(alice, 'Call Bob')
  await expectSynced(alice)
  await expect(editor(bob)).toContainText('More words.')
  await expect(todos(bob)).toHaveText(['Buy milk', 'Call Bob'])
  // Bob's panel fetches the list again once the document is quiet after a change.
  await expect(versions(bob).first()).toContainText('v1')

  // The preview shows v1's content, not the live one, and changes nothing.
  await alice.getByRole('button', { name: 'Preview v1' }).click()
  const preview = alice.getByRole('region', { name: 'Preview of v1' })
  await expect(preview.getByTestId('preview-body')).toHaveText('First draft.')
  await expect(preview.getByRole('list', { name: 'Todos of this version' })).toHaveText('☐ Buy milk')
  expect(await editorText(alice)).toBe('First draft. More words.')

  // Bob goes offline and keeps typing; meanwhile Alice restores v1.
  await bob.context().setOffline(true)
  await expect(bob.getByTestId('connection')).toHaveText('Offline')
  await expect(bob.getByTestId('history-status')).toHaveText('History needs a connection to the relay.')
  await expect(bob.getByRole('button', { name: 'Restore v1' })).toBeDisabled()
  await typeAtEnd(bob, ' Bob, offline.')
  await expect(bob.getByTestId('pending')).not.toHaveText('0')

  await alice.getByRole('button', { name: 'Restore v1' }).click()
  await expect(alice.getByRole('status').filter({ hasText: 'Restored v1.' })).toBeVisible()
  await expect(alice.getByTestId('history-error')).toBeHidden()
  await expect(editor(alice)).toHaveText('First draft.')
  await expect(todos(alice)).toHaveText(['Buy milk'])
  await expect(versions(alice).first()).toContainText('restored from v1')
  await expectSynced(alice)
  await screenshot(alice, 'history-restored')

  // Back online, Bob gets the restore and the relay gets Bob's words: both have v1 plus them.
  await bob.context().setOffline(false)
  await expectSynced(bob)
  await expect(todos(bob)).toHaveText(['Buy milk'])
  for (const page of [alice, bob]) {
    await expect(editor(page)).toContainText('Bob, offline.')
    await expect(editor(page)).not.toContainText('More words.')
  }
  expect(await editorText(alice)).toBe('First draft. Bob, offline.')
  expect(await editorText(bob)).toBe(await editorText(alice))
  await expect(versions(bob).first()).toContainText('restored from v1')
  await expect(versions(bob).filter({ hasText: 'v1' })).toHaveCount(2)
  await screenshot(bob, 'history-merged')
})

test('the History panel says clearly when the relay refuses a request', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'History errors')
  await typeAtEnd(alice, 'Something.')
  await expectSynced(alice)
  await alice.getByRole('textbox', { name: 'Version label' }).fill('x'.repeat(256))
  await alice.getByRole('button', { name: 'Save version' }).click()
  await expect(versions(alice).first()).toContainText('x'.repeat(256))

  // The relay answers an error for a version id the document does not have.
  await alice.route('**/v1/docs/*/versions/*/restore*', (route) =>
    route.continue({
      url: route
        .request()
        .url()
        .replace(/versions\/[^/]+\/restore/, 'versions/no-such-version/restore'),
    }),
  )
  await alice.getByRole('button', { name: `Restore ${'x'.repeat(256)}` }).click()
  await expect(alice.getByRole('alert')).toContainText('versionNotFound')
  await expect(editor(alice)).toHaveText('Something.')
})
