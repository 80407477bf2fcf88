/** Two people on two devices work on one document at the same time. */
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

test('two people type in one document and see each other, with cursors and names', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await screenshot(alice, 'start')
  await createDocument(alice, 'Meeting notes')
  await openDocument(bob, 'Meeting notes')

  await typeAtEnd(alice, 'Hello from Alice. ')
  await expect(editor(bob)).toContainText('Hello from Alice.')
  await typeAtEnd(bob, 'Hi Alice, Bob here.')
  await expect(editor(alice)).toContainText('Hi Alice, Bob here.')

  // Each sees the other's cursor, labelled with the other's name, and who is here.
  await expect(alice.locator('.cm-ySelectionInfo')).toHaveText('Bob')
  await expect(bob.locator('.cm-ySelectionInfo')).toHaveText('Alice')
  await expect(alice.getByTestId('presence')).toHaveText('Here: Alice (you), Bob')

  await expectSynced(alice)
  await expectSynced(bob)
  expect(await editorText(alice)).toBe('Hello from Alice. Hi Alice, Bob here.')
  expect(await editorText(bob)).toBe(await editorText(alice))
  await screenshot(alice, 'two-people-alice')
  await screenshot(bob, 'two-people-bob')
})

test('documents are created, renamed and opened from a shared list, with a shared todo list', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createDocument(alice, 'Groceries')
  await createDocument(alice, 'Trip plan')
  await expect(bob.getByRole('link', { name: 'Groceries' })).toBeVisible()
  await expect(bob.getByRole('link', { name: 'Trip plan' })).toBeVisible()

  // Renaming on one device renames everywhere.
  await openDocument(alice, 'Groceries')
  await alice.getByTestId('document-title').fill('Groceries for Sunday')
  await expect(bob.getByRole('link', { name: 'Groceries for Sunday' })).toBeVisible()
  await openDocument(bob, 'Groceries for Sunday')

  for (const item of ['Milk', 'Bread', 'Apples']) {
    await alice.getByTestId('todo-input').fill(item)
    await alice.getByTestId('todo-input').press('Enter')
  }
  const bobsTodos = bob.getByTestId('todo').locator('label')
  await expect(bobsTodos).toHaveText(['Milk', 'Bread', 'Apples'])
  await bobsTodos.filter({ hasText: 'Bread' }).getByRole('checkbox').check()
  await expect(alice.getByTestId('todo').filter({ hasText: 'Bread' }).getByRole('checkbox')).toBeChecked()
  await alice.getByTestId('todo').filter({ hasText: 'Milk' }).getByRole('button', { name: 'Remove' }).click()
  await expect(bobsTodos).toHaveText(['Bread', 'Apples'])
  await typeAtEnd(bob, 'Ask Alice about the apples.')
  await expectSynced(bob)
  await screenshot(bob, 'documents-and-todos')
})
