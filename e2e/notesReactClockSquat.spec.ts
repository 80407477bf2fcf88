/**
 * A clock squat's victim in the React example (issue 14, item 3), as
 * clockSquat.spec.ts for the demo: Alice writes offline while another
 * writer writes under her next clocks; back online her client forks to a
 * new doc, and the note's ProseMirror view is made again on it. What she
 * sees: synced, both paragraphs, the same as Bob and a fresh reader, a
 * notice, an editor whose input reaches Bob, and the same after a reload.
 */
import * as Y from 'yjs'
import { squatClocks, squatterOn } from './clockSquat.js'
import {
  editor,
  expect,
  expectSynced,
  goToDocument,
  noteHtml,
  openDocumentId,
  screenshot,
  shareDocument,
  test,
  typeAtEnd,
  typeOffline,
} from './notesReactFixtures.js'

test('a note whose offline edits were squatted forks: synced, both texts, the same everywhere, still editable', async ({
  browser,
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await shareDocument(alice, bob, 'Squatted note', 'Shared start.')
  const { squatter, victim: aliceId } = await squatterOn(browser, relay.url, alice, 'Alice')
  await typeOffline(alice, ' Alice, offline.')

  await squatClocks(squatter, aliceId, (doc) => {
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.insert(0, [new Y.XmlText('Squatter.')])
    doc.getXmlFragment('body').insert(0, [paragraph])
  })
  await expect(editor(bob)).toContainText('Squatter.')

  await alice.context().setOffline(false)
  await expect(alice.getByTestId('forked')).toHaveText(
    'Another writer took the ids of edits made here: yours were kept and merged',
  )
  await expectSynced(alice)
  await expect(editor(alice)).toContainText('Squatter.')
  await expect(editor(bob)).toContainText('Alice, offline.')
  const merged = '<p>Squatter.</p><p>Shared start. Alice, offline.</p>'
  await expect.poll(() => noteHtml(alice)).toBe(merged)
  await expect.poll(() => noteHtml(bob)).toBe(merged)
  // Alice is here once, under her new presence.
  await expect(bob.getByTestId('presence').locator('.person')).toHaveText(['Alice'])
  await expect(alice.getByTestId('presence').locator('.person')).toHaveText(['Bob'])
  await screenshot(alice, 'notes-react-squatted-forked')

  const carol = await newPerson('Carol')
  await goToDocument(carol, openDocumentId(alice))
  await expect(editor(carol)).toContainText('Alice, offline.')
  await expect.poll(() => noteHtml(carol)).toBe(merged)

  // The view was made again on the new doc: Alice's input reaches Bob, and his reaches her.
  await typeAtEnd(alice, ' After the fork.')
  await expect(editor(bob)).toContainText('After the fork.')
  await expect(editor(bob).locator('.ProseMirror-yjs-cursor > div')).toHaveText(['Alice'])
  await typeAtEnd(bob, ' Bob too.')
  await expect(editor(alice)).toContainText('Bob too.')
  await expectSynced(alice)
  const after = '<p>Squatter.</p><p>Shared start. Alice, offline. After the fork. Bob too.</p>'
  await expect.poll(() => noteHtml(alice)).toBe(after)
  await expect.poll(() => noteHtml(bob)).toBe(after)

  // A reload opens the forked copy on this device: nothing of the old one comes back.
  await alice.reload()
  await expect(editor(alice)).toContainText('Bob too.')
  await expectSynced(alice)
  await expect.poll(() => noteHtml(alice)).toBe(after)
  await expect(alice.getByTestId('forked')).toHaveCount(0)
  await typeAtEnd(alice, ' Reloaded.')
  await expect(editor(bob)).toContainText('Reloaded.')
  await expectSynced(alice)
  const reloaded = after.replace('Bob too.', 'Bob too. Reloaded.')
  await expect.poll(() => noteHtml(bob)).toBe(reloaded)
  const reader = await newPerson('Dave')
  await goToDocument(reader, openDocumentId(alice))
  await expect(editor(reader)).toContainText('Reloaded.')
  await expect.poll(() => noteHtml(reader)).toBe(reloaded)
  await squatter.close()
})
