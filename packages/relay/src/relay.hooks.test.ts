/**
 * The document hooks a library user gives the relay: loadDocument seeds a
 * document the store lacks, durably, before anyone sees it; onChange hears
 * of every durable change, batched, with its writers. Neither can hold up
 * the relay when it throws or hangs.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocumentChange } from './changeFeed.js'
import type { Authenticate } from './auth.js'
import { ControlledStore } from './test/controlledStore.js'
import { waitFor } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start, connect } = testRelays()

const template = (): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = 1 // the same seed for the same name, whichever relay makes it
  doc.getText('body').insert(0, 'Welcome')
  return Y.encodeStateAsUpdate(doc)
}

const textIn = (updates: Uint8Array[]): string => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('body').toString()
}

/** Tokens name their subject: `write:<sub>`. */
const subjects: Authenticate = (_request, _doc, token) =>
  token?.startsWith('write:') ? { access: 'write', subject: token.slice(6) } : { access: 'read' }

describe('loadDocument', () => {
  it('seeds a document the store lacks, stored before the first client sees it, and only once', async () => {
    const asked: string[] = []
    const store = new ControlledStore()
    const relay = await start({
      store,
      unloadAfterMs: 20,
      loadDocument: (name) => {
        asked.push(name)
        return name.startsWith('templated/') ? template() : undefined
      },
    })
    const client = await connect(relay)
    const doc = client.open('templated/a').doc
    await client.whenSynced('templated/a')
    expect(doc.getText('body').toString()).toBe('Welcome')
    expect(textIn(await store.inner.load('templated/a'))).toBe('Welcome')
    const plain = client.open('plain').doc
    await client.whenSynced('plain')
    expect(plain.share.size).toBe(0)
    expect(await store.inner.load('plain')).toEqual([])

    // Stored, so a document that is loaded again (after it was unloaded) is not seeded again.
    client.close()
    await waitFor(() => relay.relay.stats().documents === 0, 'the documents to unload')
    const again = await connect(relay)
    again.open('templated/a')
    await again.whenSynced('templated/a')
    expect(asked).toEqual(['templated/a', 'plain'])
  })

  it('refuses the document (4503) when the hook throws, returns garbage or hangs, and counts it', async () => {
    const failures: string[] = []
    let behaviour: 'throw' | 'garbage' | 'hang' | 'ok' = 'throw'
    const relay = await start({
      hookTimeoutMs: 200,
      observer: { hookFailed: (hook) => failures.push(hook) },
      loadDocument: () => {
        if (behaviour === 'throw') throw new Error('the template service is down')
        if (behaviour === 'garbage') return Uint8Array.of(9, 9, 9)
        if (behaviour === 'hang') return new Promise<Uint8Array>(() => {})
        return template()
      },
    })
    for (const each of ['throw', 'garbage', 'hang'] as const) {
      behaviour = each
      const client = await connect(relay)
      const entry = client.open(`doc-${each}`)
      await waitFor(() => entry.error !== undefined, `the refusal (${each})`)
      expect(entry.error).toMatchObject({ code: 4503 })
    }
    expect(failures).toEqual(['loadDocument', 'loadDocument', 'loadDocument'])
    behaviour = 'ok'
    const client = await connect(relay)
    const doc = client.open('doc-throw').doc
    await client.whenSynced('doc-throw')
    expect(doc.getText('body').toString()).toBe('Welcome')
  })
})

describe('onChange', () => {
  it('hears every durable change, batched per document, with its writers', async () => {
    const changes: DocumentChange[] = []
    const relay = await start({
      authenticate: subjects,
      onChangeDebounceMs: 100,
      onChange: (change) => void changes.push(change),
    })
    const ada = await connect(relay, 'write:ada')
    const bob = await connect(relay, 'write:bob')
    const adaDoc = ada.open('shared').doc
    const bobDoc = bob.open('shared').doc
    await Promise.all([ada.whenSynced('shared'), bob.whenSynced('shared')])
    adaDoc.getText('body').insert(0, 'ada ')
    bobDoc.getMap('m').set('k', 'bob')
    await Promise.all([ada.whenAcked('shared'), bob.whenAcked('shared')])
    const server = await relay.relay.openDocument('shared', { by: 'indexer' })
    server.doc.getArray('tags').push(['x'])
    await server.flush()
    await waitFor(() => changes.length > 0 && changes.flatMap((change) => change.by).length >= 3, 'the changes')

    const merged = new Y.Doc()
    for (const change of changes) Y.applyUpdate(merged, change.update)
    expect(changes.every((change) => change.name === 'shared')).toBe(true)
    expect(new Set(changes.flatMap((change) => change.by))).toEqual(new Set(['ada', 'bob', 'indexer']))
    expect(merged.getText('body').toString()).toBe('ada ')
    expect(merged.getMap('m').get('k')).toBe('bob')
    expect(merged.getArray('tags').toArray()).toEqual(['x'])
    // Batched: three writers' updates in fewer calls than updates.
    expect(changes.length).toBeLessThan(3)
  })

  it('is never told of an update before it is durable, nor of one that failed to store', async () => {
    const changes: DocumentChange[] = []
    const store = new ControlledStore()
    const relay = await start({ store, onChangeDebounceMs: 10, onChange: (change) => void changes.push(change) })
    const server = await relay.relay.openDocument('d')
    store.hold()
    server.doc.getText('body').insert(0, 'held')
    await waitFor(() => store.heldAppends === 1, 'the append')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(changes).toEqual([])
    store.release()
    await server.flush()
    await waitFor(() => changes.length === 1, 'the change once durable')

    store.failAppends = true
    server.doc.getText('body').insert(0, 'lost ')
    await expect(server.flush()).rejects.toMatchObject({ code: 'documentUnavailable' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(changes).toHaveLength(1)
  })

  it('carries on when the hook throws or hangs, and delivers what waits when the relay closes', async () => {
    const failures: string[] = []
    const delivered: string[] = []
    let call = 0
    const relay = await start({
      onChangeDebounceMs: 20,
      hookTimeoutMs: 100,
      observer: { hookFailed: (hook) => failures.push(hook) },
      onChange: (change) => {
        call++
        if (call === 1) throw new Error('the webhook receiver is down')
        if (call === 2) return new Promise<void>(() => {})
        delivered.push(change.name)
      },
    })
    const server = await relay.relay.openDocument('d')
    for (const text of ['one', 'two', 'three']) {
      server.doc.getText('body').insert(0, text)
      await server.flush()
      await waitFor(() => call >= ['one', 'two', 'three'].indexOf(text) + 1, `call for ${text}`)
    }
    expect(failures).toEqual(['onChange', 'onChange'])
    server.doc.getText('body').insert(0, 'last')
    await server.flush()
    await relay.relay.close()
    expect(delivered).toEqual(['d', 'd'])
  })
})
