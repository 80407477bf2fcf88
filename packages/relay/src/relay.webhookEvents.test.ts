/**
 * The relay's side of webhooks: each stored change records its events in the
 * store's outbox, in the append (or removal) that stores it, and a change
 * that is refused records none.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import type { DocStore } from './docStore.js'
import { createRelay } from './relay.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { waitFor } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'
import type { ClaimedOutboxEvent } from './webhookOutbox.js'

const { start, connect } = testRelays()

const subjects: Authenticate = (_request, _doc, token) =>
  token?.startsWith('write:') ? { access: 'write', subject: token.slice(6) } : { access: 'read' }

/** Everything in the outbox, as if an hour had passed (every debounce is over). */
const claimAll = (store: MemoryDocStore): Promise<ClaimedOutboxEvent[]> =>
  store.claimOutbox({ now: Date.now() + 3_600_000, leaseMs: 60_000, limit: 1_000 })

describe('webhook events', () => {
  it('records created once, changed with its writers and state vector, and deleted, in the outbox', async () => {
    const store = new MemoryDocStore()
    const relay = await start({ store, authenticate: subjects, webhookEvents: { debounceMs: 60_000 } })
    const ann = await connect(relay, 'write:ann')
    const bob = await connect(relay, 'write:bob')
    const annDoc = ann.open('notes').doc
    const bobDoc = bob.open('notes').doc
    await Promise.all([ann.whenSynced('notes'), bob.whenSynced('notes')])
    annDoc.getText('t').insert(0, 'hello')
    // Bob writes once Ann's edit reached him: after it, in the store's order too.
    await waitFor(() => bobDoc.getText('t').toString() === 'hello', "Ann's edit to reach Bob")
    bobDoc.getText('t').insert(0, 'hi ')
    await bob.whenSynced('notes')
    // Read-only writes are dropped, and record nothing.
    const reader = await connect(relay, 'read')
    reader.open('notes').doc.getText('t').insert(0, 'nope')
    await reader.whenSynced('notes')

    const events = await claimAll(store)
    expect(events.map((event) => [event.type, event.doc, event.subjects])).toEqual([
      ['document.created', 'notes', ['ann']],
      ['document.changed', 'notes', ['ann', 'bob']],
    ])
    const merged = new Y.Doc()
    Y.applyUpdate(merged, Y.encodeStateAsUpdate(annDoc))
    Y.applyUpdate(merged, Y.encodeStateAsUpdate(bobDoc))
    const expected = Object.fromEntries(
      [...Y.decodeStateVector(Y.encodeStateVector(bobDoc))].map(([c, n]) => [String(c), n]),
    )
    expect(events[1]!.stateVector).toEqual(expected)
    expect(Object.keys(expected)).toHaveLength(2)

    await relay.relay.deleteDocument('notes', { by: 'api' })
    expect((await claimAll(store)).map((event) => [event.type, event.doc, event.subjects])).toEqual([
      ['document.deleted', 'notes', ['api']],
    ])
  })

  it('refuses to record events into a store without an outbox', async () => {
    const memory = new MemoryDocStore()
    const plain: DocStore = {
      load: (doc) => memory.load(doc),
      append: (doc, update) => memory.append(doc, update),
      compact: (doc, merge) => memory.compact(doc, merge),
      ping: () => memory.ping(),
      close: () => memory.close(),
    }
    expect(() => createRelay({ store: plain, webhookEvents: {} })).toThrow(/outbox/)
  })
})
