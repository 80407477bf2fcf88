/**
 * Compatibility mode: the client against a stock y-websocket server
 * (@y/websocket-server, the last release on Yjs 13) on a loopback port, next
 * to stock WebsocketProviders.
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
import { createClient, type ConcordClient } from './client.js'
import type { DocHandle } from './docHandle.js'

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

const compatClient = (url: string): ConcordClient => {
  const client = createClient({
    url,
    wire: yWebsocketWire(),
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

describe('y-websocket compatibility mode', () => {
  it("the old option, protocol: 'y-websocket', throws movedToSubpath naming @concord/client/y-websocket", () => {
    // @ts-expect-error moved to @concord/client/y-websocket: TypeScript refuses the old option too
    const old = () => createClient({ url: 'ws://127.0.0.1:1', protocol: 'y-websocket', connect: false })
    expect(old).toThrow(
      expect.objectContaining({
        name: 'ConcordError',
        code: 'movedToSubpath',
        message:
          "protocol: 'y-websocket' moved to @concord/client/y-websocket: createClient({ url, wire: yWebsocketWire() })",
      }),
    )
  })

  it('syncs two clients through a stock y-websocket server; pending counts what has not been sent', async () => {
    const { url } = await startStockServer()
    const alice = compatClient(url).open('compat-notes')
    const bob = compatClient(url).open('compat-notes')
    alice.doc.getText('t').insert(0, 'hello from alice')
    bob.doc.getMap('m').set('from', 'bob')
    await Promise.all([alice.whenSynced(), bob.whenSynced()])
    await waitFor(() => text(bob) === 'hello from alice' && alice.doc.getMap('m').get('from') === 'bob', 'both edits')
    expect([alice.pending, bob.pending, alice.status, bob.status]).toEqual([0, 0, 'synced', 'synced'])
  })

  it('works next to a stock WebsocketProvider: edits and presence both ways', async () => {
    const { url } = await startStockServer()
    const client = compatClient(url).open('mixed')
    const providerDoc = new Y.Doc()
    const provider = new WebsocketProvider(url, 'mixed', providerDoc, {
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
    const client = compatClient(url)
    const handle = client.open('later')
    await handle.whenLoaded()
    handle.doc.getText('t').insert(0, 'written offline')
    await waitFor(() => handle.pending === 1, 'the edit to be pending')
    expect(handle.status).not.toBe('synced')
    await startStockServer(Number(new URL(url).port))
    await handle.whenSynced()
    const reader = compatClient(url).open('later')
    await reader.whenSynced()
    await waitFor(() => text(reader) === 'written offline', 'the edit at another client')
  })

  it('also speaks y-websocket to a Concord relay', async () => {
    const relay: TestRelay = await startRelay()
    servers.push(relay)
    const client = compatClient(relay.url).open('via-relay')
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
