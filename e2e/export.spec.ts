/** The Export link: the document as the relay stores it, as JSON, from the relay's HTTP API. */
import { readFile } from 'node:fs/promises'
import { createDocument, expect, expectSynced, test, typeAtEnd } from './fixtures.js'

test('Export downloads the text and todos as the relay stores them, as JSON', async ({ newPerson }) => {
  const alice = await newPerson('Alice')
  await createDocument(alice, 'Shopping')
  await typeAtEnd(alice, 'For the weekend')
  await alice.getByTestId('todo-input').fill('Bread')
  await alice.getByTestId('todo-input').press('Enter')
  await expectSynced(alice)

  const [download] = await Promise.all([alice.waitForEvent('download'), alice.getByTestId('export').click()])
  expect(download.suggestedFilename()).toMatch(/\.json$/)
  const exported = JSON.parse(await readFile(await download.path(), 'utf8')) as {
    body: string
    todos: Array<{ text?: unknown; done?: unknown }>
  }
  expect(exported.body).toBe('For the weekend')
  expect(exported.todos).toEqual([{ text: 'Bread', done: false }])
})
