/**
 * A diagnostic variant of the Concord relay, never part of the default run:
 * the same relay library with the store swapped, to tell what storage costs.
 * `memory`: MemoryDocStore (nothing durable); `normal`: SQLite with
 * synchronous=NORMAL (no fsync per commit). Same limits as the benchmark
 * gives the real relay. Usage: node concordVariant.js memory|normal DATA_DIR
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createRelay, MemoryDocStore, type DocStore } from '@concord/relay'
import { SqliteDocStore } from '@concord/relay/sqlite'

const [variant, dataDir] = process.argv.slice(2)
const store: DocStore =
  variant === 'memory'
    ? new MemoryDocStore()
    : new SqliteDocStore(join(dataDir!, 'concord.sqlite'), { synchronous: 'normal' })
const relay = createRelay({
  store,
  rateLimit: { messagesPerSecond: 1e9, messageBurst: 1e9, bytesPerSecond: 2 ** 40 },
  maxConnectionsPerIp: 1e6,
})
const server = createServer((_request, response) => response.writeHead(404).end())
relay.attach(server)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ws://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  void relay
    .close()
    .then(() => store.close())
    .then(() => process.exit(0))
})
