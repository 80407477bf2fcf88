/** The relay goes away and comes back, as a crash and a restart would do it. */
import {
  createDocument,
  editor,
  editorText,
  expect,
  expectSynced,
  screenshot,
  shareDocument,
  test,
  typeAtEnd,
  whenAppCached,
} from './fixtures.js'

test('pages reconnect by themselves after the relay restarts, synced with nothing pending', async ({
  newPerson,
  relay,
}) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await shareDocument(alice, bob, 'Restart', 'Before the crash.')

  await relay.kill()
  for (const page of [alice, bob]) await expect(page.getByTestId('connection')).not.toHaveText('Online')
  await typeAtEnd(alice, ' While the relay was down.')
  await expect(alice.getByTestId('pending')).not.toHaveText('0')
  await expect(alice.getByTestId('sync-status')).toHaveText('Not synced')
  await screenshot(alice, 'relay-down')

  await relay.restart()
  await expectSynced(alice, 30_000)
  await expectSynced(bob, 30_000)
  await expect(editor(bob)).toContainText('While the relay was down.')
  expect(await editorText(bob)).toBe('Before the crash. While the relay was down.')
  await typeAtEnd(bob, ' After the restart.')
  await expect(editor(alice)).toContainText('After the restart.')
  await screenshot(bob, 'relay-restarted')
})

test('a reload with the relay down shows the app and the stored documents', async ({ newPerson, relay }) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Relay down')
  await typeAtEnd(alice, 'Stored on this device.')
  await expectSynced(alice)
  await whenAppCached(alice)

  await relay.kill()
  await alice.reload()
  await expect(alice.getByTestId('document-title')).toHaveValue('Relay down')
  await expect(alice.getByRole('link', { name: 'Relay down' })).toBeVisible()
  await expect(editor(alice)).toHaveText('Stored on this device.')
  await expect(alice.getByTestId('connection')).not.toHaveText('Online')
  await screenshot(alice, 'relay-down-reload')

  await relay.restart()
  await expectSynced(alice, 30_000)
})
