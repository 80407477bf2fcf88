/**
 * The lifecycles real pages go through: a tab closed right after typing, and
 * a document unmounted and mounted again at once (what React StrictMode does).
 */
import {
  createDocument,
  editor,
  editorText,
  expect,
  expectSynced,
  openDocument,
  setName,
  test,
  typeAtEnd,
} from './fixtures.js'

test('text typed right before the page closes is there when it is opened again', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Closed at once')
  await expectSynced(alice)
  const address = alice.url()
  const context = alice.context()
  // Offline, so only this device can hold what is typed next.
  await context.setOffline(true)
  await expect(alice.getByTestId('connection')).toHaveText('Offline')
  // Closed the moment the last key is typed: nothing waits for the device store in between.
  await typeAtEnd(alice, 'Typed, then gone.')
  await alice.close()

  await context.setOffline(false)
  const again = await context.newPage()
  await again.goto(address)
  await expect(editor(again)).toHaveText('Typed, then gone.')
  // And the relay gets it now.
  await expectSynced(again)
  const bob = await newPerson('Bob')
  await openDocument(bob, 'Closed at once')
  await expect.poll(() => editorText(bob)).toBe('Typed, then gone.')
})

test('a document unmounted and mounted again at once loses nothing, on the same socket', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  const sockets: { url: string; closed: boolean }[] = []
  alice.on('websocket', (socket) => {
    const seen = { url: socket.url(), closed: false }
    sockets.push(seen)
    socket.on('close', () => (seen.closed = true))
  })
  await createDocument(alice, 'Remounted')
  await typeAtEnd(alice, 'One.')
  const remount = () =>
    alice.evaluate(() => {
      // Two hash changes in one task: the app closes the document and opens it again, twice over.
      const here = location.hash
      location.hash = '#/'
      location.hash = here
    })
  for (let i = 0; i < 3; i++) {
    // Typed and remounted in the same breath: the last keystrokes may still be on their way to IndexedDB.
    await typeAtEnd(alice, ` Two ${i}.`)
    await remount()
  }
  await expect(editor(alice)).toHaveText('One. Two 0. Two 1. Two 2.')
  await typeAtEnd(alice, ' Three.')
  await expectSynced(alice)
  const bob = await newPerson('Bob')
  await openDocument(bob, 'Remounted')
  // Read without the other's cursor and name.
  await expect.poll(() => editorText(bob)).toBe('One. Two 0. Two 1. Two 2. Three.')
  expect(await editorText(alice)).toBe(await editorText(bob))
  // The page's one socket to the relay never dropped.
  expect(sockets.filter((socket) => socket.closed)).toEqual([])
})

test('a browser that refuses storage is told so, and the document still syncs', async ({
  browser,
  relay,
  newPerson,
}) => {
  const context = await browser.newContext({ baseURL: relay.url })
  // As Safari with storage blocked does: IndexedDB is there, and opening a database throws.
  await context.addInitScript(() => {
    const refusing = {
      open: () => {
        throw new DOMException('access to storage is not allowed', 'SecurityError')
      },
    }
    Object.defineProperty(window, 'indexedDB', { get: () => refusing })
  })
  try {
    const alice = await context.newPage()
    await alice.goto('/')
    await setName(alice, 'Alice')
    await createDocument(alice, 'Nowhere to store')
    await typeAtEnd(alice, 'Kept on the relay.')
    await expect(alice.getByTestId('storage')).toHaveText(/does not let the app store anything/)
    await expectSynced(alice)
    const bob = await newPerson('Bob')
    await openDocument(bob, 'Nowhere to store')
    await expect.poll(() => editorText(bob)).toBe('Kept on the relay.')
    await expect(bob.getByTestId('storage')).toBeHidden()
  } finally {
    await context.close()
  }
})
