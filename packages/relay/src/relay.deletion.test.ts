/**
 * Deleting a document, as a backend does it over HTTP or through the
 * library: every live connection is told (4404), the name is never served
 * again, and edits an offline client still holds cannot bring it back.
 */
import { closeCodes } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { waitFor, type TestRelay } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start, connect } = testRelays()

const docUrl = (test: TestRelay, name: string, rest = '') =>
  `http://127.0.0.1:${test.port}/v1/docs/${encodeURIComponent(name)}${rest}`

const updateOf = (text: string): Uint8Array<ArrayBuffer> => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return new Uint8Array(Y.encodeStateAsUpdate(doc))
}

describe('deleting a document', () => {
  it('tells every live connection (4404), in both wire modes, and keeps the others open', async () => {
    const deletions: Array<{ name: string; by: string }> = []
    const relay = await start({ onDelete: (deletion) => void deletions.push(deletion) })
    const native = await connect(relay)
    const doomed = native.open('doomed')
    native.open('kept').doc.getText('t').insert(0, 'stays')
    await native.whenAcked('kept')
    await native.whenSynced('doomed')
    const stock = new WebSocket(`${relay.url}/doomed`)
    const stockClosed = new Promise<number>((resolve) => stock.once('close', (code) => resolve(code)))
    await new Promise((resolve) => stock.once('open', resolve))

    const response = await fetch(docUrl(relay, 'doomed'), { method: 'DELETE' })
    expect(response.status).toBe(204)
    expect(await stockClosed).toBe(closeCodes.documentDeleted)
    await waitFor(() => doomed.error !== undefined, 'the error frame')
    expect(doomed.error).toEqual({ code: closeCodes.documentDeleted, reason: 'the document was deleted' })
    expect(native.closeEvent).toBeUndefined()
    expect(deletions).toEqual([{ name: 'doomed', by: 'anonymous' }])

    const reader = await connect(relay)
    const kept = reader.open('kept').doc
    await reader.whenSynced('kept')
    expect(kept.getText('t').toString()).toBe('stays')
  })

  it('never serves the name again: opens, reads and writes are refused, and old edits are not merged', async () => {
    const relay = await start()
    const offline = await connect(relay)
    const entry = offline.open('gone')
    entry.doc.getText('t').insert(0, 'before')
    await offline.whenAcked('gone')
    await relay.relay.deleteDocument('gone', { by: 'admin' })
    await waitFor(() => entry.error !== undefined, 'the error frame')

    // An offline client that comes back with edits of the deleted document.
    const returning = await connect(relay)
    const again = returning.open('gone', entry.doc)
    entry.doc.getText('t').insert(0, 'offline edit ')
    await waitFor(() => again.error !== undefined, 'the refusal')
    expect(again.error?.code).toBe(closeCodes.documentDeleted)

    const refusal = async (response: Response) => [response.status, ((await response.json()) as { code: string }).code]
    expect(await refusal(await fetch(docUrl(relay, 'gone')))).toEqual([410, 'documentDeleted'])
    expect(
      await refusal(await fetch(docUrl(relay, 'gone', '/updates'), { method: 'POST', body: updateOf('x') })),
    ).toEqual([410, 'documentDeleted'])
    await expect(relay.relay.openDocument('gone')).rejects.toMatchObject({ code: 'documentDeleted' })
    await expect(relay.store.load('gone')).rejects.toMatchObject({ code: 'documentDeleted' })
    const listed = (await (await fetch(`http://127.0.0.1:${relay.port}/v1/docs`)).json()) as { documents: unknown[] }
    expect(listed.documents).toEqual([])
  })

  it('takes write access over HTTP', async () => {
    const relay = await start({
      authenticate: (_request, _doc, token) =>
        token === 'writer' ? { access: 'write', subject: 'ada' } : { access: 'read' },
    })
    await fetch(docUrl(relay, 'd', '/updates'), {
      method: 'POST',
      body: updateOf('x'),
      headers: { authorization: 'Bearer writer' },
    })
    expect(
      (await fetch(docUrl(relay, 'd'), { method: 'DELETE', headers: { authorization: 'Bearer reader' } })).status,
    ).toBe(403)
    expect((await fetch(docUrl(relay, 'd'))).status).toBe(200)
    expect(
      (await fetch(docUrl(relay, 'd'), { method: 'DELETE', headers: { authorization: 'Bearer writer' } })).status,
    ).toBe(204)
    expect((await fetch(docUrl(relay, 'd'))).status).toBe(410)
  })
})
