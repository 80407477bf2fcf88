/**
 * y-websocket mode: each update a connection sends comes back to it once it
 * is durable, so that a stock provider with a sync status (y-websocket
 * 3.1.0-rc.2, the API of @y/websocket 4) shows its edit as saved, and only
 * then. Seen through that provider, and on the wire.
 */
import { closeCodes, decodeYWebsocketMessage, encodeYWebsocketMessage, type YWebsocketMessage } from '@concord/protocol'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket-sync-status'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import type { DocStore } from './docStore.js'
import type { RelayOptions } from './relayOptions.js'
import { SqliteDocStore } from './sqliteDocStore.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const providers: WebsocketProvider[] = []
const sockets: WebSocket[] = []
const clients: NativeTestClient[] = []
const tempDirs: string[] = []

afterEach(async () => {
  for (const provider of providers.splice(0)) {
    provider.destroy()
    provider.doc.destroy()
  }
  for (const ws of sockets.splice(0)) ws.terminate()
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A relay on SQLite in a temp folder, behind a FaultInjectingDocStore. */
const startStalledRelay = async (options: Partial<RelayOptions> = {}) => {
  const dir = await makeTempDir()
  tempDirs.push(dir)
  const store = new FaultInjectingDocStore(new SqliteDocStore(join(dir, 'concord.sqlite')))
  relay = await startRelay({ ...options, store })
  return store
}

/** The stock provider with the sync-status API, as a Node app would create it. */
const provide = (room: string, doc = new Y.Doc(), params: Record<string, string> = {}): WebsocketProvider => {
  const provider = new WebsocketProvider(relay!.url, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params,
  })
  providers.push(provider)
  return provider
}

/**
 * Green, with nothing unconfirmed. (Green alone is not enough: within the first millisecond
 * after an edit the provider reads green too, since it looks at the age of unconfirmed edits.)
 */
const whenGreen = (provider: WebsocketProvider, what: string, timeoutMs?: number) =>
  waitFor(
    () => provider.syncStatus.status === 'green' && provider.syncStatus.localUpdatesSynced,
    `${provider.roomname}: ${what}`,
    timeoutMs,
  )

/**
 * Resolves once the relay answered a query-awareness sent on the provider's
 * socket now: whatever the relay sent that socket before it read this has arrived.
 */
const roundTrip = async (provider: WebsocketProvider): Promise<void> => {
  const ws = provider.ws as unknown as WebSocket
  const answered = new Promise((resolve) => ws.once('message', resolve))
  ws.send(encodeYWebsocketMessage({ type: 'queryAwareness' }))
  await answered
}

const storedText = async (store: DocStore, doc: string): Promise<string> => {
  const replica = new Y.Doc()
  for (const update of await store.load(doc)) Y.applyUpdate(replica, update)
  return replica.getText('t').toString()
}

const waitForStored = async (store: DocStore, doc: string): Promise<void> => {
  const deadline = Date.now() + 5_000
  while ((await store.load(doc)).length === 0) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${doc}" to be stored`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('y-websocket mode: a stock provider sees its edit saved once it is durable', () => {
  it('stays unconfirmed while the store holds the append, and turns green once it commits', async () => {
    const store = await startStalledRelay()
    const alice = provide('saved')
    const bob = provide('saved')
    await whenGreen(alice, 'green after the first sync')
    await whenGreen(bob, 'green after the first sync')

    const stall = store.stall('append')
    alice.doc.getText('t').insert(0, 'hello')
    // (Its status may read green within the first millisecond: it counts the age of unconfirmed edits.)
    expect(alice.syncStatus.localUpdatesSynced).toBe(false)
    // Forwarded at once, but not durable: the relay must not confirm it.
    await waitFor(() => bob.doc.getText('t').toString() === 'hello', 'the forward to bob')
    await waitFor(() => stall.waiting === 1, 'the append to reach the store')
    await roundTrip(alice)
    expect(alice.syncStatus.localUpdatesSynced).toBe(false)
    expect(alice.syncStatus.status).toBe('yellow')
    expect(await storedText(store.inner, 'saved')).toBe('')
    // Bob had nothing unconfirmed: alice's forwarded update leaves him green.
    expect(bob.syncStatus.status).toBe('green')

    stall.release()
    await whenGreen(alice, 'green once the append committed')
    expect(await storedText(store.inner, 'saved')).toBe('hello')
  })

  it('confirms each of many edits from two providers to the provider that made it', async () => {
    relay = await startRelay()
    const alice = provide('many')
    const bob = provide('many')
    await Promise.all([whenGreen(alice, 'first sync'), whenGreen(bob, 'first sync')])
    for (let i = 0; i < 20; i++) {
      alice.doc.getText('t').insert(0, 'a')
      bob.doc.getText('t').insert(0, 'b')
    }
    await Promise.all([whenGreen(alice, 'every edit confirmed'), whenGreen(bob, 'every edit confirmed')])
    const text = await storedText(relay.store, 'many')
    expect([...text].filter((char) => char === 'a')).toHaveLength(20)
    expect([...text].filter((char) => char === 'b')).toHaveLength(20)
  })

  it('confirms content the relay already held that a replica loaded from its own storage before it connected', async () => {
    relay = await startRelay()
    const alice = provide('held')
    alice.doc.getText('t').insert(0, 'kept on the relay')
    await whenGreen(alice, 'her edit confirmed')

    // Carol's replica gets the same content from her own storage (as y-indexeddb gives it) before her
    // provider connects: it counts as her local update, and her sync step 2 never resends it.
    const carol = new WebsocketProvider(relay.url, 'held', new Y.Doc(), {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      connect: false,
    })
    providers.push(carol)
    Y.applyUpdate(carol.doc, Y.encodeStateAsUpdate(alice.doc), 'local storage')
    expect(carol.syncStatus.localUpdatesSynced).toBe(false)
    carol.connect()
    await whenGreen(carol, 'what she loaded confirmed')
    expect(await relay.store.load('held')).toHaveLength(1)
  })

  it('confirms, after a reconnect, an edit the relay stored while the echo could not reach its socket', async () => {
    const store = await startStalledRelay()
    const alice = provide('lost-echo')
    await whenGreen(alice, 'first sync')
    const stall = store.stall('append')
    alice.doc.getText('t').insert(0, 'stored after she left')
    await waitFor(() => stall.waiting === 1, 'the append to reach the store')
    alice.disconnect()
    stall.release()
    await waitForStored(store.inner, 'lost-echo')
    expect(alice.syncStatus.localUpdatesSynced).toBe(false)
    alice.connect()
    await whenGreen(alice, 'the stored edit confirmed after the reconnect')
  })

  it("never confirms a read-only connection's edit, which the relay drops", async () => {
    const readOnlyToken: Authenticate = (_request, _doc, token) => ({ access: token === 'read' ? 'read' : 'write' })
    relay = await startRelay({ authenticate: readOnlyToken })
    const reader = provide('read-only', new Y.Doc(), { token: 'read' })
    const writer = provide('read-only')
    await Promise.all([whenGreen(reader, 'first sync'), whenGreen(writer, 'first sync')])

    reader.doc.getText('t').insert(0, 'not kept')
    await roundTrip(reader)
    // The writer's edit is stored after anything of the reader's would have been.
    writer.doc.getText('t').insert(0, 'kept')
    await whenGreen(writer, "the writer's edit confirmed")
    await roundTrip(reader)
    expect(reader.syncStatus.localUpdatesSynced).toBe(false)
    expect(await storedText(relay.store, 'read-only')).toBe('kept')
  })
})

describe('y-websocket mode: the echo on the wire', () => {
  /** A raw y-websocket socket on `doc`, and every message the relay sent it. */
  const openRaw = async (doc: string) => {
    const ws = new WebSocket(`${relay!.url}/${doc}`)
    sockets.push(ws)
    const received: YWebsocketMessage[] = []
    ws.on('message', (data: Buffer) => received.push(decodeYWebsocketMessage(new Uint8Array(data))))
    await new Promise((resolve) => ws.once('open', resolve))
    return { ws, received }
  }
  const updatesIn = (received: readonly YWebsocketMessage[]): Uint8Array[] =>
    received.flatMap((message) =>
      message.type === 'sync' && message.sync.type === 'update' ? [message.sync.update] : [],
    )

  it.each([
    ['by default, sends each committed update back as a sync update carrying the same bytes', {}, true],
    ['with echoCommitted: false, sends nothing back', { echoCommitted: false }, false],
  ] as const)('%s', async (_what, options, echoes) => {
    relay = await startRelay(options)
    const { ws, received } = await openRaw('wire')
    const source = new Y.Doc()
    source.getText('t').insert(0, 'bytes')
    const update = Y.encodeStateAsUpdate(source)
    // A step 2 with nothing in it (what a provider with an empty document answers) confirms nothing.
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step2', update: new Uint8Array([0, 0]) } }))
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    // Stored, then one more round trip: an echo would have arrived before its answer.
    await waitForStored(relay.store, 'wire')
    const answers = received.length
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: new Uint8Array([0]) } }))
    await waitFor(() => received.length > answers && received.at(-1)!.type === 'sync', 'the step 2 answer')
    expect(updatesIn(received)).toEqual(echoes ? [update] : [])
  })

  it('never sends back an update it refused (4422)', async () => {
    relay = await startRelay()
    const { ws, received } = await openRaw('refused')
    const closed = new Promise<number>((resolve) => ws.once('close', resolve))
    const source = new Y.Doc()
    source.getText('t').insert(0, 'valid')
    const valid = Y.encodeStateAsUpdate(source)
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update: valid } }))
    await waitFor(() => updatesIn(received).length === 1, 'the echo of the valid update')
    // Bytes that are no Yjs update: refused, never stored, never confirmed.
    const poison = Uint8Array.of(1, 2, 3, 250, 250, 250)
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update: poison } }))
    expect(await closed).toBe(closeCodes.invalidUpdate)
    expect(updatesIn(received)).toEqual([valid])
  })

  it('answers a native connection with acks only, never an echo', async () => {
    relay = await startRelay()
    const client = await NativeTestClient.connect(relay.url)
    clients.push(client)
    const entry = client.open('native-doc')
    await waitFor(() => entry.synced, 'the native open')
    entry.doc.getText('t').insert(0, 'acked')
    // An echo would leave when the ack does (both follow the commit), and before it.
    await waitFor(() => entry.ackedSeq === 1, 'the ack')
    const syncUpdates = client.received.filter((frame) => frame.type === 'sync' && frame.sync.type === 'update')
    expect(syncUpdates).toEqual([])
  })
})
