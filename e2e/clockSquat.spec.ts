/**
 * A clock squat's victim in the demo (issue 14, item 3): Alice types
 * offline while another writer, who read her client id and next clocks
 * from what the relay shows every reader, writes under those clocks. Back
 * online, the relay refuses her edits (4422) and her client forks them to
 * a new client id in a new doc. What she sees: synced, both her text and
 * the squatter's, the same as Bob and a fresh reader, a notice that says
 * what happened, an editor that still takes input that reaches Bob, and
 * the same after a reload.
 */
import { squatClocks, squatterOn } from './clockSquat.js'
import {
  editor,
  editorText,
  expect,
  expectSynced,
  goToDocument,
  openDocumentId,
  screenshot,
  shareDocument,
  test,
  typeAtEnd,
  typeOffline,
} from './fixtures.js'

test('a device whose offline edits were squatted forks: synced, both texts, the same everywhere, still editable', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await shareDocument(alice, bob, 'Squatted', 'Shared start.')
  // The squatter reads Alice's client id from her presence, as any reader can.
  const { squatter, victim: aliceId } = await squatterOn(browser, relay.url, alice, 'Alice')
  await typeOffline(alice, ' Alice, offline.')

  // Meanwhile the squatter writes under Alice's next clocks; the relay stores it (Bob sees it).
  await squatClocks(squatter, aliceId, (doc) => doc.getText('body').insert(0, 'Squatter. '))
  await expect(editor(bob)).toContainText('Squatter. Shared start.')

  await alice.context().setOffline(false)
  await expect(alice.getByTestId('forked')).toHaveText(
    'Another writer took the ids of edits made here: yours were kept and merged',
  )
  await expectSynced(alice)
  await expect(editor(alice)).toContainText('Alice, offline.')
  await expect(editor(alice)).toContainText('Squatter.')
  await expect(editor(bob)).toContainText('Alice, offline.')
  const merged = await editorText(alice)
  expect(merged).toBe('Squatter. Shared start. Alice, offline.')
  await expect.poll(() => editorText(bob)).toBe(merged)
  // Alice is here once, under her new presence, for Bob and for herself.
  await expect(bob.getByTestId('presence')).toHaveText(/^Here: (Bob \(you\), Alice|Alice, Bob \(you\))$/)
  await expect(alice.getByTestId('presence')).toHaveText(/^Here: (Alice \(you\), Bob|Bob, Alice \(you\))$/)
  await screenshot(alice, 'squatted-forked')

  // A fresh reader reads what the relay stores: the same.
  const carol = await newPerson('Carol')
  await goToDocument(carol, openDocumentId(alice))
  await expect(editor(carol)).toContainText('Alice, offline.')
  await expect.poll(() => editorText(carol)).toBe(merged)

  // The editor was bound to the new doc: what Alice types now reaches Bob, and Bob's reaches her.
  await typeAtEnd(alice, ' After the fork.')
  await expect(editor(bob)).toContainText('After the fork.')
  await expect(bob.locator('.cm-ySelectionInfo')).toHaveText(['Alice'])
  await typeAtEnd(bob, ' Bob too.')
  await expect(editor(alice)).toContainText('Bob too.')
  await expectSynced(alice)
  const after = await editorText(alice)
  expect(after).toBe(`${merged} After the fork. Bob too.`)
  await expect.poll(() => editorText(bob)).toBe(after)

  // A reload opens the forked copy on this device: nothing of the old one comes back.
  await alice.reload()
  await expect(editor(alice)).toContainText('Bob too.')
  await expectSynced(alice)
  await expect.poll(() => editorText(alice)).toBe(after)
  await expect(alice.getByTestId('forked')).toBeHidden()
  await typeAtEnd(alice, ' Reloaded.')
  await expect(editor(bob)).toContainText('Reloaded.')
  await expectSynced(alice)
  await expect.poll(() => editorText(bob)).toBe(`${after} Reloaded.`)
  const reader = await newPerson('Dave')
  await goToDocument(reader, openDocumentId(alice))
  await expect(editor(reader)).toContainText('Reloaded.')
  await expect.poll(() => editorText(reader)).toBe(`${after} Reloaded.`)
  await squatter.close()
})

test('two tabs of the squatted device both fork and say so: nothing doubled, the same everywhere', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await shareDocument(alice, bob, 'Squatted tabs', 'Shared start.')
  const id = openDocumentId(alice)
  const aliceTab = await alice.context().newPage()
  await goToDocument(aliceTab, id)
  await expect(editor(aliceTab)).toContainText('Shared start.')
  const { squatter, victim: aliceId } = await squatterOn(browser, relay.url, alice, 'Alice')

  // Offline, the first tab types; the second one gets it from the first through the device.
  await alice.context().setOffline(true)
  await expect(alice.getByTestId('connection')).toHaveText('Offline')
  await expect(aliceTab.getByTestId('connection')).toHaveText('Offline')
  await typeAtEnd(alice, ' Alice, offline.')
  await expect(editor(aliceTab)).toContainText('Alice, offline.')
  await squatClocks(squatter, aliceId, (doc) => doc.getText('body').insert(0, 'Squatter. '))
  await expect(editor(bob)).toContainText('Squatter. Shared start.')

  await alice.context().setOffline(false)
  const merged = 'Squatter. Shared start. Alice, offline.'
  for (const page of [alice, aliceTab]) {
    await expectSynced(page)
    await expect.poll(() => editorText(page)).toBe(merged)
  }
  await expect.poll(() => editorText(bob)).toBe(merged)
  for (const page of [alice, aliceTab]) await expect(page.getByTestId('forked')).toBeVisible()

  // Both tabs edit the forked doc, and everyone gets it once.
  await typeAtEnd(aliceTab, ' Second tab.')
  await expect(editor(alice)).toContainText('Second tab.')
  await typeAtEnd(alice, ' First tab.')
  await expect(editor(aliceTab)).toContainText('First tab.')
  const after = `${merged} Second tab. First tab.`
  for (const page of [alice, aliceTab]) {
    await expectSynced(page)
    await expect.poll(() => editorText(page)).toBe(after)
  }
  await expect.poll(() => editorText(bob)).toBe(after)
  const reader = await newPerson('Carol')
  await goToDocument(reader, id)
  await expect(editor(reader)).toContainText('First tab.')
  await expect.poll(() => editorText(reader)).toBe(after)
  await aliceTab.reload()
  await expectSynced(aliceTab)
  await expect.poll(() => editorText(aliceTab)).toBe(after)
  await squatter.close()
})
