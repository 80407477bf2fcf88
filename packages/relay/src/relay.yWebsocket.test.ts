import {
  closeCodes,
  decodeAwarenessUpdate,
  decodeYWebsocketMessage,
  encodeAwarenessUpdate,
  encodeYWebsocketMessage,
  yWebsocketMessageType,
} from '@concord/protocol'
import { rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { NativeTestClient } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const providers: WebsocketProvider[] = []
const clients: NativeTestClient[] = []
const sockets: WebSocket[] = []
const tempDirs: string[] = []

afterEach(async () => {
  for (const provider of providers.splice(0)) {
    provider.destroy()
    provider.doc.destroy()
  }
  for (const client of clients.splice(0)) client.close()
  for (const ws of sockets.splice(0)) ws.terminate()
  await relay?.close()
  relay = undefined
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A stock y-websocket provider, as a Node app would create one. */
const provide = (room: string, doc = new Y.Doc()): WebsocketProvider => {
  const provider = new WebsocketProvider(relay!.url, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  })
  providers.push(provider)
  return provider
}

const whenSynced = (provider: WebsocketProvider) => waitFor(() => provider.synced, `"${provider.roomname}" to sync`)

const connectNative = async () => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

const text = (doc: Y.Doc) => doc.getText('t').toString()
const waitForText = (doc: Y.Doc, expected: string) => waitFor(() => text(doc) === expected, `text "${expected}"`)

const userName = (observer: WebsocketProvider, of: WebsocketProvider): unknown =>
  (observer.awareness.getStates().get(of.doc.clientID) as { user?: { name?: unknown } } | undefined)?.user?.name

/** Connects a plain `ws` client to a raw URL path and resolves with the close code the relay sends. */
const closeCodeFor = async (path: string): Promise<number> => {
  const ws = new WebSocket(`${relay!.url}${path}`)
  sockets.push(ws)
  ws.on('error', () => {})
  let code: number | undefined
  ws.on('close', (received) => (code = received))
  await waitFor(() => code !== undefined, `the relay to close the connection to ${path.slice(0, 20)}`)
  return code!
}

describe('y-websocket mode: stock WebsocketProvider', () => {
  it('syncs text, map and nested edits between two providers, both ways', async () => {
    relay = await startRelay()
    const alice = provide('shared')
    const bob = provide('shared')
    await Promise.all([whenSynced(alice), whenSynced(bob)])

    alice.doc.getText('t').insert(0, 'hello')
    alice.doc.getMap('m').set('from', 'alice')
    await waitForText(bob.doc, 'hello')
    expect(bob.doc.getMap('m').get('from')).toBe('alice')

    bob.doc.getText('t').insert(5, ' world')
    bob.doc.getMap('m').set('reply', 'bob')
    const task = new Y.Map<unknown>()
    task.set('title', 'write tests')
    task.set('done', false)
    bob.doc.getArray<Y.Map<unknown>>('tasks').push([task])
    await waitForText(alice.doc, 'hello world')
    expect(alice.doc.getMap('m').toJSON()).toEqual({ from: 'alice', reply: 'bob' })
    expect(alice.doc.getArray('tasks').toJSON()).toEqual([{ title: 'write tests', done: false }])

    // An edit inside the nested map travels back.
    alice.doc.getArray<Y.Map<unknown>>('tasks').get(0).set('done', true)
    await waitFor(() => bob.doc.getArray<Y.Map<unknown>>('tasks').get(0).get('done') === true, 'the nested edit')
    expect(bob.doc.getArray('tasks').toJSON()).toEqual([{ title: 'write tests', done: true }])
  })

  it("shows each provider the other's awareness, and the relay retracts a provider whose socket dropped", async () => {
    relay = await startRelay()
    const alice = provide('presence')
    const bob = provide('presence')
    alice.awareness.setLocalStateField('user', { name: 'alice' })
    bob.awareness.setLocalStateField('user', { name: 'bob' })
    await waitFor(() => userName(bob, alice) === 'alice', "alice's presence at bob")
    await waitFor(() => userName(alice, bob) === 'bob', "bob's presence at alice")

    // Drop alice's socket without the goodbye a provider sends on destroy(): only the
    // relay can tell bob that she left. y-protocols would time her out after 30 s, far
    // past waitFor's 5 s.
    alice.shouldConnect = false
    ;(alice.ws as unknown as WebSocket).terminate()
    await waitFor(() => !bob.awareness.getStates().has(alice.doc.clientID), "alice's removal at bob")
  })

  it("echoes a provider's awareness back to it, which stock providers count on as their heartbeat", async () => {
    relay = await startRelay()
    const ws = new WebSocket(`${relay.url}/lonely`)
    sockets.push(ws)
    const received: Uint8Array[] = []
    ws.on('message', (data: Buffer) => received.push(new Uint8Array(data)))
    await new Promise((resolve) => ws.once('open', resolve))
    const awareness = encodeAwarenessUpdate([{ clientId: 77, clock: 1, state: '{"user":"alone"}' }])
    ws.send(encodeYWebsocketMessage({ type: 'awareness', update: awareness }))
    await waitFor(
      () => received.some((bytes) => bytes[0] === yWebsocketMessageType.awareness),
      'the awareness echo (a lone provider would otherwise reconnect every 30 s)',
    )
    const echo = received.map((bytes) => decodeYWebsocketMessage(bytes)).find((message) => message.type === 'awareness')
    expect(echo && echo.type === 'awareness' && decodeAwarenessUpdate(echo.update)).toEqual([
      { clientId: 77, clock: 1, state: '{"user":"alone"}' },
    ])
  })

  it('gives a late joiner the existing content and the current awareness states', async () => {
    relay = await startRelay()
    const early = provide('late')
    early.awareness.setLocalStateField('user', { name: 'early' })
    early.doc.getText('t').insert(0, 'written before you came')
    early.doc.getMap('m').set('count', 3)
    await whenSynced(early)
    // The relay has the edit once another client sees it.
    const witness = await connectNative()
    await waitForText(witness.open('late').doc, 'written before you came')

    const late = provide('late')
    await whenSynced(late)
    expect(text(late.doc)).toBe('written before you came')
    expect(late.doc.getMap('m').get('count')).toBe(3)
    await waitFor(() => userName(late, early) === 'early', "early's presence at the late joiner")
  })

  it('bridges a native client and a y-websocket provider on the same document', async () => {
    relay = await startRelay()
    const provider = provide('bridge')
    const native = await connectNative()
    const { doc: nativeDoc } = native.open('bridge')
    await Promise.all([whenSynced(provider), native.whenSynced('bridge')])

    provider.doc.getText('t').insert(0, 'from y-websocket')
    await waitForText(nativeDoc, 'from y-websocket')

    nativeDoc.getText('t').insert(0, 'from native, ')
    nativeDoc.getMap('m').set('mode', 'native')
    await waitForText(provider.doc, 'from native, from y-websocket')
    expect(provider.doc.getMap('m').get('mode')).toBe('native')
  })

  it('keeps documents apart: edits in "a" never reach a provider on "b"', async () => {
    relay = await startRelay()
    const [a1, a2, b1, b2] = [provide('a'), provide('a'), provide('b'), provide('b')]
    await Promise.all([a1, a2, b1, b2].map(whenSynced))

    a1.doc.getText('t').insert(0, 'only in a')
    a1.doc.getMap('m').set('doc', 'a')
    await waitForText(a2.doc, 'only in a')
    // The relay handled the edit in "a" before this one; anything it sent b1 from "a" would arrive first.
    b2.doc.getText('t').insert(0, 'only in b')
    await waitForText(b1.doc, 'only in b')
    expect(b1.doc.getMap('m').toJSON()).toEqual({})
    expect(text(a1.doc)).toBe('only in a')
    expect(text(a2.doc)).toBe('only in a')
  })

  it('names the document by the percent-decoded URL path', async () => {
    relay = await startRelay()
    const provider = provide('my doc/ü')
    const native = await connectNative()
    const { doc: nativeDoc } = native.open('my doc/ü')
    await Promise.all([whenSynced(provider), native.whenSynced('my doc/ü')])

    provider.doc.getText('t').insert(0, 'spaces, slashes and umlauts')
    await waitForText(nativeDoc, 'spaces, slashes and umlauts')
    nativeDoc.getText('t').insert(0, '> ')
    await waitForText(provider.doc, '> spaces, slashes and umlauts')
  })

  it('names the document by the whole path, even when the room name starts with a slash', async () => {
    relay = await startRelay()
    // The provider connects to `${url}//team/notes`: the path is "//team/notes", the document "/team/notes".
    const provider = provide('/team/notes')
    const native = await connectNative()
    const { doc: nativeDoc } = native.open('/team/notes')
    await native.whenSynced('/team/notes')
    provider.doc.getText('t').insert(0, 'for the team')
    await waitForText(nativeDoc, 'for the team')
    await waitFor(() => provider.synced, 'the provider to sync')
  })

  it.each([
    ['empty', '/'],
    ['257 characters long', `/${'a'.repeat(257)}`],
    ['a control character', '/%00abc'],
    ['bad percent-encoding', '/%E0%A4%A'],
  ])('closes the socket with 4410 when the document name is %s', async (_problem, path) => {
    relay = await startRelay()
    expect(await closeCodeFor(path)).toBe(closeCodes.invalidDocumentName)
  })

  it.each([
    ['256 letters', 'a'.repeat(256)],
    ['256 emoji (counted in code points)', '😀'.repeat(256)],
  ])('accepts a document name of %s', async (_what, name) => {
    relay = await startRelay()
    const provider = provide(name)
    const native = await connectNative()
    const { doc: nativeDoc } = native.open(name)
    await Promise.all([whenSynced(provider), native.whenSynced(name)])
    provider.doc.getText('t').insert(0, 'long names work')
    await waitForText(nativeDoc, 'long names work')
  })

  it('keeps what a provider wrote across a relay restart on the same data directory', async () => {
    const dataDir = await makeTempDir()
    tempDirs.push(dataDir)
    relay = await startRelay({ dataDir })
    const writer = provide('durable')
    await whenSynced(writer)
    writer.doc.getText('t').insert(0, 'survives a restart')
    writer.doc.getMap('m').set('version', 1)
    // Once another client sees the edit the relay has accepted it, and close() waits until it is stored.
    const witness = await connectNative()
    await waitForText(witness.open('durable').doc, 'survives a restart')
    writer.destroy()
    await relay.close()

    relay = await startRelay({ dataDir })
    const reader = provide('durable')
    await whenSynced(reader)
    expect(text(reader.doc)).toBe('survives a restart')
    expect(reader.doc.getMap('m').get('version')).toBe(1)
  })
})
