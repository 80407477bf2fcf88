/** Edits made without a connection: kept on the device, shared between its tabs, merged on return. */
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
  whenAppCached,
} from './fixtures.js'

test('a device that goes offline keeps editing; back online, both have the same text, nothing lost', async ({
  newPerson,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createDocument(alice, 'Partition')
  await openDocument(bob, 'Partition')
  await typeAtEnd(alice, 'Shared start.')
  await expect(editor(bob)).toContainText('Shared start.')

  await bob.context().setOffline(true)
  await expect(bob.getByTestId('connection')).toHaveText('Offline')
  await typeAtEnd(alice, ' Alice, online.')
  await typeAtEnd(bob, ' Bob, offline.')
  await expect(bob.getByTestId('pending')).not.toHaveText('0')
  await expectSynced(alice)
  // Partitioned: neither sees the other's new words.
  await expect(editor(bob)).not.toContainText('Alice, online.')
  await expect(editor(alice)).not.toContainText('Bob, offline.')
  await screenshot(bob, 'partition-bob-offline')

  await bob.context().setOffline(false)
  await expectSynced(bob)
  for (const page of [alice, bob]) {
    await expect(editor(page)).toContainText('Alice, online.')
    await expect(editor(page)).toContainText('Bob, offline.')
  }
  const text = await editorText(alice)
  expect(await editorText(bob)).toBe(text)
  expect(text).toMatch(/^Shared start\.( Alice, online\.| Bob, offline\.){2}$/)
  await screenshot(bob, 'partition-healed')
})

test('a reload while offline shows the app and the document', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Offline reload')
  await typeAtEnd(alice, 'Written online.')
  await expectSynced(alice)
  await whenAppCached(alice)

  await alice.context().setOffline(true)
  await alice.reload()
  await expect(alice.getByTestId('document-title')).toHaveValue('Offline reload')
  await expect(alice.getByRole('link', { name: 'Offline reload' })).toBeVisible()
  await expect(editor(alice)).toHaveText('Written online.')
  await expect(alice.getByTestId('connection')).toHaveText('Offline')
  await typeAtEnd(alice, ' Written offline.')
  await expect(alice.getByTestId('pending')).not.toHaveText('0')
  await screenshot(alice, 'offline-reload')

  await alice.context().setOffline(false)
  await expectSynced(alice)
  expect(await editorText(alice)).toBe('Written online. Written offline.')
})

test('two tabs of one browser share edits while offline', async ({ newPerson }) => {
  const firstTab = await newPerson('Alice')
  await createDocument(firstTab, 'Two tabs')
  const secondTab = await firstTab.context().newPage()
  await secondTab.goto(firstTab.url())
  await expect(secondTab.getByTestId('document-title')).toHaveValue('Two tabs')

  await firstTab.context().setOffline(true)
  await expect(firstTab.getByTestId('connection')).toHaveText('Offline')
  await expect(secondTab.getByTestId('connection')).toHaveText('Offline')
  await typeAtEnd(firstTab, 'From the first tab.')
  await expect(editor(secondTab)).toContainText('From the first tab.')
  await typeAtEnd(secondTab, ' From the second tab.')
  await expect(editor(firstTab)).toContainText('From the second tab.')
  await screenshot(secondTab, 'two-tabs-offline')

  await firstTab.context().setOffline(false)
  await expectSynced(firstTab)
  await expectSynced(secondTab)
  expect(await editorText(firstTab)).toBe('From the first tab. From the second tab.')
  expect(await editorText(secondTab)).toBe(await editorText(firstTab))
})

test('the "Work offline" switch cuts this tab off the relay until it is switched back', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createDocument(alice, 'Switch')
  await openDocument(bob, 'Switch')

  await alice.getByTestId('offline-switch').check()
  await expect(alice.getByTestId('connection')).toHaveText('Offline')
  await expect(alice.getByTestId('sync-status')).toHaveText('Not synced')
  await typeAtEnd(alice, 'Kept on this device.')
  await expect(alice.getByTestId('pending')).not.toHaveText('0')
  await typeAtEnd(bob, 'Bob was here.')
  await expectSynced(bob)
  await expect(editor(alice)).not.toContainText('Bob was here.')
  await screenshot(alice, 'offline-switch-on')

  await alice.getByTestId('offline-switch').uncheck()
  await expectSynced(alice)
  await expect(editor(bob)).toContainText('Kept on this device.')
  await expect(editor(alice)).toContainText('Bob was here.')
  expect(await editorText(bob)).toBe(await editorText(alice))
})
