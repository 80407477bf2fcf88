/**
 * Owns the running service: the data folder, the SQLite store, the relay,
 * and the HTTP server they share (health check now; the demo's files later).
 * Stopping it closes them in the order that loses nothing.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createRelay, SqliteDocStore, type Logger } from '@concord/relay'
import type { Config } from './config.js'

export interface Service {
  /** ws://host:port, with the port actually bound. */
  readonly url: string
  readonly storePath: string
  /** Stops accepting, closes every connection with 1001, stores every accepted update, closes the store. */
  stop(): Promise<void>
}

const handleHttp = (request: IncomingMessage, response: ServerResponse): void => {
  if (request.method === 'GET' && request.url === '/healthz') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    return
  }
  response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
}

export const startService = async (config: Config, logger: Logger): Promise<Service> => {
  mkdirSync(config.dataDir, { recursive: true })
  const storePath = join(config.dataDir, 'concord.sqlite')
  const store = new SqliteDocStore(storePath)
  const relay = createRelay({ store, logger, maxPayload: config.maxPayload })
  const server = createServer(handleHttp)
  relay.attach(server)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => resolve())
    })
  } catch (error) {
    await store.close()
    throw error
  }
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `ws://${host}:${port}`,
    storePath,
    stop: async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      await relay.close()
      server.closeAllConnections()
      await serverClosed
      await store.close()
    },
  }
}
