/**
 * relay.openDocument: a server-side handle on a live document, against a
 * real relay with WebSocket clients of the same document.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ControlledStore } from './test/controlledStore.js'
import { waitFor } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start, connect } = testRelays()

describe('relay.openDocument', () => {
  it('holds the stored state, sees clients edit, and its own edits reach clients and the store', async () => {
    const relay = await start()
    const writer = await connect(relay)
    const clientDoc = writer.open('shared').doc
    clientDoc.getText('t').insert(0, 'client')
    await writer.whenAcked('shared')

    const server = await relay.relay.openDocument('shared')
    expect(server.doc.getText('t').toString()).toBe('client')
    clientDoc.getText('t').insert(6, ' again')
    await waitFor(() => server.doc.getText('t').toString() === 'client again', 'the client edit on the server')

    server.doc.getMap('index').set('words', 2)
    await server.flush()
    await waitFor(() => clientDoc.getMap('index').get('words') === 2, 'the server edit on the client')
    await server.close()

    const reader = await connect(relay)
    const fresh = reader.open('shared').doc
    await reader.whenSynced('shared')
    expect(fresh.getMap('index').get('words')).toBe(2)
  })

  it('flushes only once every transaction so far is durable', async () => {
    const store = new ControlledStore()
    const relay = await start({ store })
    const server = await relay.relay.openDocument('held')
    store.hold()
    server.doc.getText('t').insert(0, 'a')
    server.doc.getText('t').insert(1, 'b')
    let flushed = false
    const flush = server.flush().then(() => (flushed = true))
    await waitFor(() => store.heldAppends === 2, 'both appends to reach the store')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(flushed).toBe(false)
    store.release()
    await flush
    expect((await store.inner.load('held')).length).toBe(2)
  })

  it('stores what was edited through it when the relay closes', async () => {
    const store = new ControlledStore()
    const relay = await start({ store })
    const server = await relay.relay.openDocument('closing')
    server.doc.getArray('a').push([1, 2, 3])
    await relay.relay.close()
    const doc = new Y.Doc()
    for (const update of await store.inner.load('closing')) Y.applyUpdate(doc, update)
    expect(doc.getArray('a').toArray()).toEqual([1, 2, 3])
  })

  it('rejects an invalid name, and a document the store cannot load', async () => {
    const store = new ControlledStore()
    const relay = await start({ store })
    await expect(relay.relay.openDocument('')).rejects.toMatchObject({ code: 'invalidDocumentName' })
    store.failLoads = true
    await expect(relay.relay.openDocument('broken')).rejects.toMatchObject({ code: 'documentUnavailable' })
    store.failLoads = false
    const server = await relay.relay.openDocument('broken')
    expect(server.doc.share.size).toBe(0)
  })
})
