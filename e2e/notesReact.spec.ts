/**
 * The React example (apps/notes-react) in Chromium: two people write formatted
 * text into one note and see each other's text, formatting and named cursors;
 * a device offline keeps writing and converges when back; a reload offline
 * shows the app, the list and the note; switching notes (under StrictMode)
 * keeps one socket; a failing device store shows in the status bar.
 */
import {
  caretAtEnd,
  createNote,
  editor,
  expect,
  expectSynced,
  noteHtml,
  openNote,
  screenshot,
  test,
  whenAppCached,
} from './notesReactFixtures.js'

test('two people write formatted text into one note and see it, with each other’s cursors', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createNote(alice, 'Shared note')
  await openNote(bob, 'Shared note')

  await caretAtEnd(alice)
  await alice.keyboard.type('Plain and ')
  await alice.keyboard.press('Control+b')
  await alice.keyboard.type('bold')
  await alice.keyboard.press('Control+b')
  await expect(editor(bob).locator('strong')).toHaveText('bold')
  await expect(editor(bob)).toContainText('Plain and bold')

  await caretAtEnd(bob)
  // The caret after "bold" takes its bold along, as in any editor: switch it off first.
  await bob.keyboard.press('Control+b')
  await bob.keyboard.type(', then ')
  await bob.keyboard.press('Control+i')
  await bob.keyboard.type('italic')
  await expect(editor(alice).locator('em')).toHaveText('italic')

  // Each sees the other's caret, labelled with the name, and the other in the list of people.
  await expect(editor(alice).locator('.ProseMirror-yjs-cursor > div')).toHaveText('Bob')
  await caretAtEnd(alice)
  await expect(editor(bob).locator('.ProseMirror-yjs-cursor > div')).toHaveText('Alice')
  await expect(alice.getByTestId('presence')).toContainText('Bob')
  await expect(bob.getByTestId('presence')).toContainText('Alice')
  await screenshot(bob, 'notes-react-two-writers')

  await expectSynced(alice)
  await expectSynced(bob)
  const html = await noteHtml(alice)
  expect(html).toBe('<p>Plain and <strong>bold</strong>, then <em>italic</em></p>')
  expect(await noteHtml(bob)).toBe(html)
})

test('a device offline keeps writing; back online, both have the same formatted text', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const bob = await newPerson('Bob')
  await createNote(alice, 'Partition')
  await openNote(bob, 'Partition')
  await caretAtEnd(alice)
  await alice.keyboard.type('Shared start.')
  await expect(editor(bob)).toContainText('Shared start.')

  await bob.context().setOffline(true)
  await expect(bob.getByTestId('connection')).toHaveText('Offline')
  await caretAtEnd(alice)
  await alice.keyboard.press('Enter')
  await alice.keyboard.type('Alice, online.')
  await caretAtEnd(bob)
  await bob.keyboard.press('Enter')
  await bob.keyboard.press('Control+b')
  await bob.keyboard.type('Bob, offline.')
  await expect(bob.getByTestId('pending')).not.toHaveText('0')
  await expect(bob.getByTestId('sync-status')).toHaveText('Not synced')
  await expectSynced(alice)
  await expect(editor(alice)).not.toContainText('Bob, offline.')
  await expect(editor(bob)).not.toContainText('Alice, online.')

  await bob.context().setOffline(false)
  await expectSynced(bob)
  for (const page of [alice, bob]) {
    await expect(editor(page)).toContainText('Alice, online.')
    await expect(editor(page).locator('strong')).toHaveText('Bob, offline.')
  }
  await expectSynced(alice)
  const html = await noteHtml(alice)
  expect(await noteHtml(bob)).toBe(html)
  expect(html).toMatch(
    /^<p>Shared start\.<\/p>(<p>Alice, online\.<\/p><p><strong>Bob, offline\.<\/strong><\/p>|<p><strong>Bob, offline\.<\/strong><\/p><p>Alice, online\.<\/p>)$/,
  )
})

test('a reload while offline shows the app, the list of notes and the note', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  await createNote(alice, 'Offline reload')
  await caretAtEnd(alice)
  await alice.keyboard.press('Control+b')
  await alice.keyboard.type('Written online.')
  await expectSynced(alice)
  await whenAppCached(alice)

  await alice.context().setOffline(true)
  await alice.reload()
  await expect(alice.getByTestId('document-title')).toHaveValue('Offline reload')
  await expect(alice.getByRole('link', { name: 'Offline reload' })).toBeVisible()
  await expect(editor(alice).locator('strong')).toHaveText('Written online.')
  await expect(alice.getByTestId('connection')).toHaveText('Offline')
  await caretAtEnd(alice)
  await alice.keyboard.press('Control+b')
  await alice.keyboard.type(' Written offline.')
  await expect(alice.getByTestId('pending')).not.toHaveText('0')
  await screenshot(alice, 'notes-react-offline-reload')

  await alice.context().setOffline(false)
  await expectSynced(alice)
  expect(await noteHtml(alice)).toBe('<p><strong>Written online.</strong> Written offline.</p>')
})

test('opening and switching notes under StrictMode keeps one socket, and every keystroke', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const sockets: string[] = []
  alice.on('websocket', (socket) => sockets.push(socket.url()))
  await alice.reload()
  await createNote(alice, 'First')
  await createNote(alice, 'Second')
  for (const title of ['First', 'Second', 'First']) {
    await openNote(alice, title)
    await caretAtEnd(alice)
    await alice.keyboard.type(`${title}. `)
  }
  // Back and forth as fast as the clicks go, typing as soon as each note is there.
  for (let round = 0; round < 3; round++) {
    await alice.getByRole('link', { name: 'Second' }).click()
    await alice.getByRole('link', { name: 'First' }).click()
  }
  await expect(alice.getByTestId('document-title')).toHaveValue('First')
  await expectSynced(alice)
  expect(await noteHtml(alice)).toBe('<p>First. First. </p>')
  await openNote(alice, 'Second')
  await expect(editor(alice)).toHaveText('Second. ')
  expect(sockets).toHaveLength(1)
})

test('a device store that fails shows "Not saved on this device"', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  // The browser's IndexedDB refuses writes once the page says so, as a full disk does.
  await alice.addInitScript(() => {
    const failing = { on: false }
    Object.assign(window, { failIndexedDbWrites: failing })
    for (const method of ['add', 'put'] as const) {
      const original = IDBObjectStore.prototype[method]
      IDBObjectStore.prototype[method] = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
        if (failing.on) throw new DOMException('the disk is full', 'QuotaExceededError')
        return original.apply(this, args)
      }
    }
  })
  await alice.reload()
  await createNote(alice, 'Full disk')
  await caretAtEnd(alice)
  await alice.keyboard.type('Stored.')
  await expectSynced(alice)
  await expect(alice.getByTestId('device-storage')).toHaveCount(0)

  await alice.evaluate(() => {
    ;(window as unknown as { failIndexedDbWrites: { on: boolean } }).failIndexedDbWrites.on = true
  })
  await alice.keyboard.type(' Not stored.')
  await expect(alice.getByTestId('device-storage')).toHaveText('Not saved on this device')
  await screenshot(alice, 'notes-react-not-saved')
})
