/**
 * Compatibility mode: the client against a stock y-websocket server
 * (@y/websocket-server, the last release on Yjs 13) on a loopback port, next
 * to stock WebsocketProviders; both ways, each test twice: `protocol: 'y-websocket'`
 * (the wire's code loaded with `import()` when a document first connects) and
 * `wire: yWebsocketWire()` of `@concord/client/y-websocket`.
 */
import 'fake-indexeddb/auto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { setupWSConnection } from '@y/websocket-server/utils'
import * as Y from 'yjs'
import { startRelay, waitFor, type TestRelay } from '@concord/relay/testing'
import { yWebsocketWire } from '@concord/client/y-websocket'
import { createClient, type ClientOptions, type ConcordClient } from './client.js'
import type { DocHandle } from './docHandle.js'
import type { ConcordError } from './errors.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import type { SyncStatus } from './syncStatus.js'

const clients: ConcordClient[] = []
const providers: WebsocketProvider[] = []
const servers: Array<{ close(): Promise<void> }> = []
let storeNames = 0

const startStockServer = async (port = 0): Promise<{ url: string }> => {
  const server: Server = createServer((_request, response) => response.writeHead(404).end())
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, request) => setupWSConnection(socket, request))
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  servers.push({
    close: async () => {
      for (const socket of wss.clients) socket.terminate()
      await new Promise((resolve) => wss.close(resolve))
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  })
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

type Way = Pick<ClientOptions, 'protocol' | 'wire'>

const compatClient = (url: string, way: Way, options: Partial<ClientOptions> = {}): ConcordClient => {
  const client = createClient({
    url,
    ...way,
    ...options,
    name: `compat-${++storeNames}`,
    WebSocket: NodeWebSocket as never,
    connection: { backoff: { initialDelayMs: 20, maxDelayMs: 200 } },
  })
  clients.push(client)
  return client
}

const text = (handle: DocHandle | Y.Doc) => ('doc' in handle ? handle.doc : handle).getText('t').toString()

afterEach(async () => {
  for (const provider of providers.splice(0)) provider.destroy()
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

const ways: ReadonlyArray<readonly [string, Way]> = [
  ["protocol: 'y-websocket'", { protocol: 'y-websocket' }],
  ['wire: yWebsocketWire()', { wire: yWebsocketWire() }],
]

describe.each(ways)('y-websocket compatibility mode, %s', (name, way) => {
  // The stock server keeps its documents in memory for the whole process: each way has its own.
  const doc = (id: string): string => `${id}-${ways.findIndex(([other]) => other === name)}`

  it('syncs two clients through a stock y-websocket server; pending counts what has not been sent', async () => {
    const { url } = await startStockServer()
    const alice = compatClient(url, way).open(doc('compat-notes'))
    const bob = compatClient(url, way).open(doc('compat-notes'))
    alice.doc.getText('t').insert(0, 'hello from alice')
    bob.doc.getMap('m').set('from', 'bob')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    await waitFor(() => text(bob) === 'hello from alice' && alice.doc.getMap('m').get('from') === 'bob', 'both edits')
    expect([alice.pending, bob.pending, alice.status, bob.status]).toEqual([0, 0, 'synced', 'synced'])
  })

  it('works next to a stock WebsocketProvider: edits and presence both ways', async () => {
    const { url } = await startStockServer()
    const client = compatClient(url, way).open(doc('mixed'))
    const providerDoc = new Y.Doc()
    const provider = new WebsocketProvider(url, doc('mixed'), providerDoc, {
      WebSocketPolyfill: NodeWebSocket as never,
      disableBc: true,
    })
    providers.push(provider)
    client.doc.getText('t').insert(0, 'client ')
    providerDoc.getText('t').insert(0, 'provider ')
    await waitFor(() => text(client) === text(providerDoc) && text(client).length === 16, 'convergence')
    client.awareness.setLocalStateField('user', 'concord')
    provider.awareness.setLocalStateField('user', 'stock')
    await waitFor(
      () => provider.awareness.getStates().get(client.doc.clientID)?.user === 'concord',
      'presence at the provider',
    )
    await waitFor(
      () => client.awareness.getStates().get(providerDoc.clientID)?.user === 'stock',
      'presence at the client',
    )
  })

  it('keeps edits made while the server is unreachable pending, and sends them once it is up', async () => {
    const { url } = await startStockServer()
    await servers.pop()!.close()
    const client = compatClient(url, way)
    const handle = client.open(doc('later'))
    await handle.whenLoaded()
    handle.doc.getText('t').insert(0, 'written offline')
    await waitFor(() => handle.pending === 1, 'the edit to be pending')
    expect(handle.status).not.toBe('synced')
    await startStockServer(Number(new URL(url).port))
    await handle.whenSynced()
    const reader = compatClient(url, way).open(doc('later'))
    await reader.whenSynced()
    await waitFor(() => text(reader) === 'written offline', 'the edit at another client')
  })

  it('also speaks y-websocket to a Concord relay', async () => {
    const relay: TestRelay = await startRelay()
    servers.push(relay)
    const client = compatClient(relay.url, way).open('via-relay')
    client.doc.getText('t').insert(0, 'compat through the relay')
    await client.whenSynced()
    // Without acks, synced means sent: poll the relay's store until the edit is there.
    const storedText = async () => {
      const stored = new Y.Doc()
      for (const update of await relay.store.load('via-relay')) Y.applyUpdate(stored, update)
      return text(stored)
    }
    for (let tries = 0; (await storedText()) !== 'compat through the relay'; tries++) {
      if (tries > 100) throw new Error(`the relay stored "${await storedText()}"`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })
})

describe("protocol: 'y-websocket': the wire's code loads when a document first connects", () => {
  it('keeps edits made meanwhile, stored, and sends them once it has loaded; connecting until then', async () => {
    const { url } = await startStockServer()
    const store = new MemoryLocalStore()
    const client = compatClient(url, { protocol: 'y-websocket' }, { store })
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    const handle = client.open('early')
    const statuses: SyncStatus[] = []
    handle.on('status', (status) => statuses.push(status))
    // Before the import can have resolved: no socket yet, and the document says it is connecting.
    expect([handle.status, client.status]).toEqual(['connecting', 'connecting'])
    handle.doc.getText('t').insert(0, 'typed before the wire loaded')
    handle.awareness.setLocalStateField('user', 'early')
    await handle.whenSynced()
    expect(statuses).not.toContain('offline')
    expect(statuses.at(-1)).toBe('synced')
    // The device store has it, and so has another client.
    const stored = new Y.Doc()
    const { snapshot, updates } = await store.load('early')
    for (const update of [...(snapshot ? [snapshot] : []), ...updates.map(({ update }) => update)]) {
      Y.applyUpdate(stored, update)
    }
    expect(text(stored)).toBe('typed before the wire loaded')
    const reader = compatClient(url, { protocol: 'y-websocket' }).open('early')
    await waitFor(() => text(reader) === 'typed before the wire loaded', 'the edit at another client')
    await waitFor(() => reader.awareness.getStates().get(handle.doc.clientID)?.user === 'early', 'presence')
    expect(errors).toEqual([])
  })

  it('documents opened while it loads all connect once it has, each on its own socket', async () => {
    const { url } = await startStockServer()
    const client = compatClient(url, { protocol: 'y-websocket' })
    const [a, b] = [client.open('first'), client.open('second')]
    a.doc.getText('t').insert(0, 'a')
    b.doc.getText('t').insert(0, 'b')
    await Promise.all([a.whenSynced(), b.whenSynced()])
    const other = compatClient(url, { wire: yWebsocketWire() })
    const [otherA, otherB] = [other.open('first'), other.open('second')]
    await waitFor(() => text(otherA) === 'a' && text(otherB) === 'b', 'each document at the other client')
  })

  it('stays offline, loading nothing, with connect: false', async () => {
    const client = compatClient('ws://127.0.0.1:1', { protocol: 'y-websocket' }, { connect: false })
    const handle = client.open('local')
    handle.doc.getText('t').insert(0, 'here only')
    await handle.whenLoaded()
    expect([handle.status, client.status]).toEqual(['offline', 'offline'])
  })

  it('throws from open() without a WebSocket, as it did before the wire loaded on use', () => {
    const client = createClient({ url: 'ws://127.0.0.1:1', protocol: 'y-websocket', name: `compat-${++storeNames}` })
    clients.push(client)
    const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function'
    if (hasGlobal) expect(client.open('x').status).toBe('connecting')
    else expect(() => client.open('x')).toThrow(expect.objectContaining({ code: 'noWebSocket' }))
  })
})
