/**
 * The client as an app uses it: real relays on loopback ports with SQLite in
 * temp folders (in process, or the built concord-relay where a test kills it), IndexedDB from fake-indexeddb (installed globally, so the
 * client's default store is the IndexedDB one), BroadcastChannel from Node.
 */
import 'fake-indexeddb/auto'
import { rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket as NodeWebSocket } from 'ws'
import * as Y from 'yjs'
import { makeTempDir, startRelay, waitFor, type TestRelay } from '@concord/relay/testing'
import { killRelayProcesses, startRelayProcess } from '@concord/relay-service/testing'
import { createClient, type ClientOptions, type ConcordClient } from './client.js'
import type { DocHandle } from './docHandle.js'
import type { ConcordError } from './errors.js'

const clients: ConcordClient[] = []
const relays: TestRelay[] = []
const dirs: string[] = []
let storeNames = 0

/** A client with its own IndexedDB database (unless `name` is given) and quick reconnects. */
const makeClient = (url: string, options: Partial<ClientOptions> = {}): ConcordClient => {
  const client = createClient({
    url,
    name: `test-${++storeNames}`,
    WebSocket: NodeWebSocket as never,
    connection: { backoff: { initialDelayMs: 20, maxDelayMs: 200 } },
    ...options,
  })
  clients.push(client)
  return client
}

/** A relay on a port that stays the same across restarts, with its data in a temp folder. */
const relayOnFixedPort = async () => {
  const dataDir = await makeTempDir()
  dirs.push(dataDir)
  const first = await startRelay({ dataDir })
  relays.push(first)
  const { port, url } = first
  return {
    url,
    current: first,
    async stop() {
      await this.current.close()
    },
    async restart() {
      this.current = await startRelay({ dataDir, port })
      relays.push(this.current)
    },
  }
}

/** A relay address where nothing listens yet: start one there later. */
const relayNotYetUp = async () => {
  const placeholder = await relayOnFixedPort()
  await placeholder.stop()
  return placeholder
}

const text = (handle: DocHandle) => handle.doc.getText('t').toString()

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  await killRelayProcesses()
  await Promise.all(relays.splice(0).map((relay) => relay.close().catch(() => {})))
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

describe('createClient', () => {
  it('syncs two clients through the relay, and acknowledges every edit', async () => {
    const relay = await relayOnFixedPort()
    const alice = makeClient(relay.url).open('notes')
    const bob = makeClient(relay.url).open('notes')
    alice.doc.getText('t').insert(0, 'hello')
    bob.doc.getMap('m').set('from', 'bob')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    await waitFor(() => text(bob) === 'hello' && alice.doc.getMap('m').get('from') === 'bob', 'both edits on both')
    expect([alice.status, bob.status]).toEqual(['synced', 'synced'])
    expect([alice.pending, bob.pending]).toEqual([0, 0])
  })

  it('lets two clients edit while the relay is down, and converges when it comes up', async () => {
    const relay = await relayNotYetUp()
    const alice = makeClient(relay.url).open('offline')
    const bob = makeClient(relay.url).open('offline')
    await Promise.all([alice.whenLoaded(), bob.whenLoaded()])
    alice.doc.getText('t').insert(0, 'alice ')
    bob.doc.getText('t').insert(0, 'bob ')
    await waitFor(() => alice.pending === 1 && bob.pending === 1, 'both edits pending')
    expect(alice.status).not.toBe('synced')
    await relay.restart()
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    await waitFor(() => text(alice) === text(bob) && text(alice).length === 10, 'convergence')
    expect(text(alice)).toMatch(/^(alice bob |bob alice )$/)
    expect(Y.encodeStateVector(alice.doc)).toEqual(Y.encodeStateVector(bob.doc))
  })

  it('restores the state and the pending count from the device store in a new client', async () => {
    const relay = await relayNotYetUp()
    const first = makeClient(relay.url, { name: 'shared-device' })
    const handle = first.open('draft')
    await handle.whenLoaded()
    handle.doc.getText('t').insert(0, 'written offline')
    handle.doc.getText('t').insert(0, '> ')
    await waitFor(() => handle.pending === 2, 'two pending edits')
    await first.destroy()

    const second = makeClient(relay.url, { name: 'shared-device' })
    const restored = second.open('draft')
    await restored.whenLoaded()
    expect(text(restored)).toBe('> written offline')
    expect(restored.pending).toBe(2)
    await relay.restart()
    await restored.whenSynced()
    expect(restored.pending).toBe(0)
    const stored = new Y.Doc()
    for (const update of await relay.current.store.load('draft')) Y.applyUpdate(stored, update)
    expect(stored.getText('t').toString()).toBe('> written offline')
  })

  it('keeps edits pending when the relay is killed mid-edit (SIGKILL), and settles them after a restart', async () => {
    const dataDir = await makeTempDir()
    dirs.push(dataDir)
    let relay = await startRelayProcess(dataDir)
    const handle = makeClient(relay.url).open('crash')
    await handle.whenSynced()
    const writes = handle.doc.getArray<number>('writes')
    for (let i = 0; i < 200; i++) writes.push([i])
    relay.child.kill('SIGKILL')
    await relay.exited
    for (let i = 200; i < 210; i++) writes.push([i])
    await waitFor(() => handle.status !== 'synced' && handle.pending >= 10, 'the edits after the kill to be pending')

    relay = await startRelayProcess(dataDir, relay.port)
    await handle.whenSynced()
    expect([handle.pending, handle.status]).toEqual([0, 'synced'])
    // Durable means it survives the next kill too.
    relay.child.kill('SIGKILL')
    await relay.exited
    relay = await startRelayProcess(dataDir, relay.port)
    const reader = makeClient(relay.url).open('crash')
    await reader.whenSynced()
    expect(reader.doc.getArray('writes').toArray()).toEqual([...Array(210).keys()])
  })

  it('serves many documents over one socket, and the same handle for the same id', async () => {
    const relay = await relayOnFixedPort()
    const client = makeClient(relay.url)
    const handles = Array.from({ length: 12 }, (_, i) => client.open(`doc-${i}`))
    expect(client.open('doc-3')).toBe(handles[3])
    for (const [i, handle] of handles.entries()) handle.doc.getText('t').insert(0, `text ${i}`)
    await Promise.all(handles.map((handle) => handle.whenSynced()))
    expect(relay.current.relay.stats()).toEqual({ connections: 1, documents: 12, queuedBytes: 0 })
    const reader = makeClient(relay.url)
    const copy = reader.open('doc-7')
    await copy.whenSynced()
    expect(text(copy)).toBe('text 7')
  })

  it('shares edits between tabs of one store over BroadcastChannel, with no relay at all', async () => {
    const relay = await relayNotYetUp()
    const tabA = makeClient(relay.url, { name: 'two-tabs' }).open('shared')
    const tabB = makeClient(relay.url, { name: 'two-tabs' }).open('shared')
    await Promise.all([tabA.whenLoaded(), tabB.whenLoaded()])
    tabA.doc.getText('t').insert(0, 'from tab A')
    await waitFor(() => text(tabB) === 'from tab A', 'tab B to see tab A')
    tabB.awareness.setLocalStateField('user', 'tab B')
    await waitFor(() => tabA.awareness.getStates().get(tabB.doc.clientID)?.user === 'tab B', "tab B's presence in A")
    // Tab B stores and sends the edit too: tab A may die before it does.
    expect([tabA.pending, tabB.pending]).toEqual([1, 1])
  })

  it('reports a document the relay refuses as a typed error', async () => {
    const relay = await relayOnFixedPort()
    const client = makeClient(relay.url)
    expect(() => client.open('')).toThrow(expect.objectContaining({ code: 'invalidDocumentName' }))
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    // Break the store so that the relay cannot load the document.
    relay.current.store.load = () => Promise.reject(new Error('disk on fire'))
    const handle = client.open('unloadable')
    await waitFor(() => errors.length > 0, 'an error event')
    expect(errors[0]).toMatchObject({ name: 'ConcordError', code: 'documentUnavailable', doc: 'unloadable' })
    expect(handle.status).toBe('syncing')
  })

  it('shares presence through the relay and removes it when a handle closes', async () => {
    const relay = await relayOnFixedPort()
    const alice = makeClient(relay.url).open('presence')
    const bob = makeClient(relay.url).open('presence')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    alice.awareness.setLocalStateField('user', { name: 'Alice' })
    await waitFor(() => bob.awareness.getStates().has(alice.doc.clientID), "Alice's presence at Bob")
    alice.close()
    await waitFor(() => !bob.awareness.getStates().has(alice.doc.clientID), "Alice's presence gone at Bob")
  })

  it('shows presence again at once after the relay restarts, though the others dropped it', async () => {
    const relay = await relayOnFixedPort()
    const alice = makeClient(relay.url).open('presence-again')
    const bob = makeClient(relay.url).open('presence-again')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    alice.awareness.setLocalStateField('user', { name: 'Alice' })
    bob.awareness.setLocalStateField('user', { name: 'Bob' })
    const seeEachOther = () =>
      bob.awareness.getStates().has(alice.doc.clientID) && alice.awareness.getStates().has(bob.doc.clientID)
    await waitFor(seeEachOther, 'each one the other')

    // The relay goes away: each drops the other's presence, as it can no longer know it.
    await relay.stop()
    await waitFor(() => !seeEachOther(), 'presence dropped while the relay is down')
    await relay.restart()
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    // Well before the 15 s renewal of y-protocols' Awareness.
    await waitFor(seeEachOther, 'each one the other again', 3_000)
  })

  it('shows presence again at once after its connection drops, though the relay told the others it left', async () => {
    const relay = await relayOnFixedPort()
    const sockets: NodeWebSocket[] = []
    class TrackedWebSocket extends NodeWebSocket {
      constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
        super(...args)
        sockets.push(this)
      }
    }
    const alice = makeClient(relay.url, { WebSocket: TrackedWebSocket as never }).open('presence-drop')
    const bob = makeClient(relay.url).open('presence-drop')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    alice.awareness.setLocalStateField('user', { name: 'Alice' })
    await waitFor(() => bob.awareness.getStates().has(alice.doc.clientID), "Alice's presence at Bob")

    // The relay sees her socket close and tells Bob she left, with a clock one past hers.
    sockets.at(-1)!.close()
    await waitFor(() => !bob.awareness.getStates().has(alice.doc.clientID), "Alice's presence gone at Bob")
    await waitFor(() => sockets.length === 2 && alice.status === 'synced', 'Alice reconnected')
    await waitFor(() => bob.awareness.getStates().has(alice.doc.clientID), "Alice's presence back at Bob", 3_000)
  })
})
