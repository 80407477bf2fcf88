/**
 * Version history (saveVersion, versions, version, restore) over concord.v3 against real relays on
 * loopback ports, and a relay that selects only concord.v2; both ways, each test twice: the
 * handle's own calls (which load history.ts with `import()` on first use) and `versionHistory(handle)`
 * of `@concord/client/history`, with the y-websocket client of each way (`protocol: 'y-websocket'`,
 * `wire: yWebsocketWire()`).
 */
import 'fake-indexeddb/auto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { versionHistory, type VersionHistory } from '@concord/client/history'
import { yWebsocketWire } from '@concord/client/y-websocket'
import { MemoryDocStore, type Authenticate, type NewVersion } from '@concord/relay'
import { startRelay, waitFor } from '@concord/relay/testing'
import type { ClientOptions } from './client.js'
import type { DocHandle } from './docHandle.js'
import type { ConcordError } from './errors.js'
import { cleanUp, makeClient, relayOnFixedPort, text, trackedWebSocket } from './test/clientHarness.js'

afterEach(cleanUp)

/** Tokens `read` and `write` grant that access to every document. */
const tokenAuth: Authenticate = (_request, _doc, token) =>
  token === 'read' || token === 'write'
    ? { access: token, subject: `${token}-user` }
    : { denied: 'unauthenticated', reason: 'no token' }

/** What `promise` rejected with; fails the test if it resolved. */
const rejectionOf = async (promise: Promise<unknown>): Promise<ConcordError> => {
  try {
    await promise
  } catch (error) {
    return error as ConcordError
  }
  throw new Error('expected a rejection')
}

const ways: ReadonlyArray<
  readonly [string, (handle: DocHandle) => VersionHistory, Pick<ClientOptions, 'protocol' | 'wire'>]
> = [
  ['the handle', (handle) => handle, { protocol: 'y-websocket' }],
  ['versionHistory(handle)', versionHistory, { wire: yWebsocketWire() }],
]

describe.each(ways)('version history through %s', (_way, history, yWebsocketOptions) => {
  it('saves, lists, loads and restores; a second client sees the restore', async () => {
    const relay = await relayOnFixedPort()
    const [alice, bob] = [makeClient(relay.url).open('notes'), makeClient(relay.url).open('notes')]
    alice.doc.getText('t').insert(0, 'v1')
    await alice.whenSynced()
    const v1 = await history(alice).saveVersion('v1')
    expect(v1).toMatchObject({ label: 'v1', restoredFrom: undefined, bytes: expect.any(Number) })
    expect(v1.createdAt).toBeInstanceOf(Date)
    alice.doc.getText('t').insert(2, ' and more')
    await alice.whenSynced()
    await waitFor(() => text(bob) === 'v1 and more', 'bob to see the edit')

    const listed = await history(bob).versions()
    expect(listed.map(({ id, label }) => ({ id, label }))).toEqual([{ id: v1.id, label: 'v1' }])
    expect(await history(bob).versions({ before: v1.id })).toEqual([])

    const preview = await history(bob).version(v1.id)
    expect(preview.getText('t').toString()).toBe('v1')

    const restored = await history(bob).restore(v1.id)
    expect(restored).toMatchObject({ restoredFrom: v1.id, label: `restored from ${v1.id}` })
    await waitFor(() => text(alice) === 'v1' && text(bob) === 'v1', 'both clients to show v1')
    const [newest] = await history(alice).versions({ limit: 1 })
    expect(newest!.id).toBe(restored.id)
  })

  it('gives a read-only Y.Doc: a local edit throws readOnly, changes nothing, and the doc stays usable', async () => {
    const relay = await relayOnFixedPort()
    const handle = makeClient(relay.url).open('notes')
    handle.doc.getText('t').insert(0, 'kept')
    handle.doc.getMap('m').set('k', 1)
    await handle.whenSynced()
    const { id } = await history(handle).saveVersion('v')
    const preview = await history(handle).version(id)
    const updates: Uint8Array[] = []
    preview.on('update', (update: Uint8Array) => updates.push(update))
    expect(() => preview.getText('t').insert(0, 'x')).toThrow(expect.objectContaining({ code: 'readOnly' }))
    expect(() => preview.getMap('m').set('k', 2)).toThrow(expect.objectContaining({ code: 'readOnly' }))
    expect(() => preview.transact(() => {})).toThrow(expect.objectContaining({ code: 'readOnly' }))
    expect(preview.getText('t').toString()).toBe('kept')
    expect(preview.getMap('m').toJSON()).toEqual({ k: 1 })
    expect(updates).toEqual([])
    // Still a working Y.Doc: reads, and updates from elsewhere, go on.
    const other = new Y.Doc()
    other.getText('u').insert(0, 'remote')
    Y.applyUpdate(preview, Y.encodeStateAsUpdate(other))
    expect(preview.getText('u').toString()).toBe('remote')
  })

  it('refuses a read-only token’s save and restore with forbidden (4403), and lets it list and load', async () => {
    const relay = await relayOnFixedPort({ authenticate: tokenAuth })
    const writer = makeClient(relay.url, { auth: 'write' }).open('notes')
    writer.doc.getText('t').insert(0, 'x')
    await writer.whenSynced()
    const v1 = await history(writer).saveVersion('v1')
    const reader = makeClient(relay.url, { auth: 'read' }).open('notes')
    await reader.whenSynced()
    for (const refused of [history(reader).saveVersion('mine'), history(reader).restore(v1.id)]) {
      expect(await rejectionOf(refused)).toMatchObject({ name: 'ConcordError', code: 'forbidden', closeCode: 4403 })
    }
    expect((await history(reader).versions()).map(({ id }) => id)).toEqual([v1.id])
    expect((await history(reader).version(v1.id)).getText('t').toString()).toBe('x')
    expect((await history(writer).versions()).map(({ id }) => id)).toEqual([v1.id])
  })

  it('rejects an unknown id, and another document’s, with versionNotFound (4404)', async () => {
    const relay = await relayOnFixedPort()
    const client = makeClient(relay.url)
    const [a, b] = [client.open('a'), client.open('b')]
    await Promise.all([a.whenSynced(), b.whenSynced()])
    const ofB = await history(b).saveVersion('b1')
    for (const id of ['nope', ofB.id]) {
      expect(await rejectionOf(history(a).version(id))).toMatchObject({
        code: 'versionNotFound',
        closeCode: 4404,
        doc: 'a',
      })
      expect(await rejectionOf(history(a).restore(id))).toMatchObject({ code: 'versionNotFound' })
    }
    expect(await rejectionOf(history(a).saveVersion(''))).toMatchObject({
      code: 'malformedMessage',
      closeCode: 4400,
    })
  })

  it('rejects at once with offline when not connected, and with historyUnavailable in y-websocket mode', async () => {
    const relay = await relayOnFixedPort()
    const offline = makeClient(relay.url, { connect: false }).open('notes')
    expect(await rejectionOf(history(offline).saveVersion('v'))).toMatchObject({ code: 'offline' })
    expect(await rejectionOf(history(offline).versions())).toMatchObject({ code: 'offline' })
    const yWebsocket = makeClient(relay.url, yWebsocketOptions).open('notes')
    await yWebsocket.whenSynced()
    expect(await rejectionOf(history(yWebsocket).versions())).toMatchObject({ code: 'historyUnavailable' })
  })

  it('rejects a pending request with connectionLost when the socket drops, and works again after', async () => {
    let release: (() => void) | undefined
    let saving = false
    // The store holds a named version back until released: the request is pending on the relay meanwhile.
    class SlowSaves extends MemoryDocStore {
      override async saveVersion(doc: string, version: NewVersion): Promise<boolean> {
        saving = true
        await new Promise<void>((resolve) => (release = resolve))
        return super.saveVersion(doc, version)
      }
    }
    const store = new SlowSaves()
    const relay = await relayOnFixedPort({ store })
    const { WebSocket, sockets } = trackedWebSocket()
    const handle = makeClient(relay.url, { WebSocket: WebSocket as never }).open('notes')
    await handle.whenSynced()
    const pending = history(handle).saveVersion('slow')
    await waitFor(() => saving, 'the relay to start saving')
    sockets.at(-1)!.terminate()
    expect(await rejectionOf(pending)).toMatchObject({ code: 'connectionLost' })
    release!()
    await waitFor(() => handle.status === 'synced' && sockets.length === 2, 'the client to reconnect')
    expect((await history(handle).versions()).map(({ label }) => label)).toEqual(['slow'])
  })

  it('keeps syncing with a relay that selects only concord.v2, where history is historyUnavailable', async () => {
    const test = await startRelay({ store: new MemoryDocStore() })
    // An older relay: it is offered concord.v2 alone, whatever the client asks for.
    const server = createServer()
    server.on('upgrade', (request, socket, head) => {
      request.headers['sec-websocket-protocol'] = 'concord.v2'
      test.relay.handleUpgrade(request, socket, head)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
      const { WebSocket, sockets } = trackedWebSocket()
      const [alice, bob] = [
        makeClient(url, { WebSocket: WebSocket as never }).open('notes'),
        makeClient(url).open('notes'),
      ]
      alice.doc.getText('t').insert(0, 'over v2')
      await alice.whenSynced()
      await waitFor(() => text(bob) === 'over v2', 'bob to see the edit over concord.v2')
      expect(sockets.map((socket) => socket.protocol)).toEqual(['concord.v2'])
      expect(await rejectionOf(history(alice).saveVersion('v'))).toMatchObject({ code: 'historyUnavailable' })
      expect(await test.relay.listVersions('notes')).toEqual([])
    } finally {
      await cleanUp()
      server.close()
      await test.close()
    }
  })
})
