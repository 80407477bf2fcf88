/**
 * Owns the set-up the client's integration tests share: clients with their
 * own IndexedDB database (fake-indexeddb, installed globally by the test
 * file) and quick reconnects, real relays on loopback ports, and one
 * `cleanUp()` for `afterEach` that tears all of them down.
 */
import { rm } from 'node:fs/promises'
import { WebSocket as NodeWebSocket } from 'ws'
import { makeTempDir, startRelay, type TestRelay } from '@concord/relay/testing'
import type { RelayOptions } from '@concord/relay'
import { createClient, type ClientOptions, type ConcordClient } from '../client.js'
import type { DocHandle } from '../docHandle.js'

const clients: ConcordClient[] = []
const relays: TestRelay[] = []
const dirs: string[] = []
let storeNames = 0

/** A store name no other test uses. */
export const freshStoreName = (): string => `harness-${process.pid}-${++storeNames}`

/** A client with its own IndexedDB database (unless `name` is given) and quick reconnects. */
export const makeClient = (url: string, options: Partial<ClientOptions> = {}): ConcordClient => {
  const client = createClient({
    url,
    name: freshStoreName(),
    WebSocket: NodeWebSocket as never,
    connection: { backoff: { initialDelayMs: 20, maxDelayMs: 200 } },
    ...options,
  })
  clients.push(client)
  return client
}

/** Forgets a client that the test destroys itself. */
export const forget = (client: ConcordClient): void => {
  const at = clients.indexOf(client)
  if (at >= 0) clients.splice(at, 1)
}

/** A relay on a port that stays the same across restarts, with its data in a temp folder (unless a store is given). */
export const relayOnFixedPort = async (options: Partial<RelayOptions> = {}) => {
  const dataDir = await makeTempDir()
  dirs.push(dataDir)
  const first = await startRelay({ dataDir, ...options })
  relays.push(first)
  const { port, url } = first
  return {
    url,
    current: first,
    async stop() {
      await this.current.close()
    },
    async restart() {
      this.current = await startRelay({ dataDir, port, ...options })
      relays.push(this.current)
    },
  }
}

/** A relay address where nothing listens yet: start one there later. */
export const relayNotYetUp = async (options: Partial<RelayOptions> = {}) => {
  const placeholder = await relayOnFixedPort(options)
  await placeholder.stop()
  return placeholder
}

export const text = (handle: DocHandle, name = 't'): string => handle.doc.getText(name).toString()

/** A WebSocket class that records every socket it opens. */
export const trackedWebSocket = (): {
  WebSocket: new (url: string, protocols?: string | string[]) => NodeWebSocket
  sockets: NodeWebSocket[]
} => {
  const sockets: NodeWebSocket[] = []
  class TrackedWebSocket extends NodeWebSocket {
    constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
      super(...args)
      sockets.push(this)
    }
  }
  return { WebSocket: TrackedWebSocket, sockets }
}

export const cleanUp = async (): Promise<void> => {
  await Promise.all(clients.splice(0).map((client) => client.destroy().catch(() => {})))
  await Promise.all(relays.splice(0).map((relay) => relay.close().catch(() => {})))
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}
