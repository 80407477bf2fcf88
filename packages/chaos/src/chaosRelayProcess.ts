/**
 * Owns the relay of `--storage` runs (and of the relay sabotage) as its own
 * process: @concord/relay's `createRelay` on SQLite, as the service runs it,
 * but with its DocStore wrapped in `FaultyDocStore`, whose faults the harness
 * arms over the IPC channel. It prints the same start line as concord-relay,
 * answers /healthz, and on SIGTERM closes the relay (storing every accepted
 * update) before it exits.
 *
 * Usage (by the harness): chaosRelayProcess.js <data dir> [acks-early]
 */
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createRelay } from '@concord/relay'
import { SqliteDocStore } from '@concord/relay/sqlite'
import { FaultyDocStore, type DocStoreFault } from './storageFaults.js'

const [dataDir, sabotage] = process.argv.slice(2)
if (!dataDir) {
  console.error('usage: chaosRelayProcess.js <data dir> [acks-early]')
  process.exit(2)
}
mkdirSync(dataDir, { recursive: true })
const store = new FaultyDocStore(new SqliteDocStore(join(dataDir, 'concord.sqlite')), {
  acksEarly: sabotage === 'acks-early',
})
const write = (level: string) => (fields: object, message: string) =>
  process.stderr.write(
    `${JSON.stringify({ level, ...fields, msg: message }, (_k, v: unknown) => (v instanceof Error ? v.message : v))}\n`,
  )
const relay = createRelay({
  store,
  logger: { debug: () => {}, info: () => {}, warn: write('warn'), error: write('error') },
  // The harness writes faster than a person; a throttled link is not a fault under test.
  rateLimit: { messagesPerSecond: 100_000, messageBurst: 100_000 },
})
const server = createServer((request, response) => {
  if (request.url === '/healthz') response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
  else response.writeHead(404).end()
})
relay.attach(server)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`chaos relay listening on ws://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('message', (fault: DocStoreFault) => store.inject(fault))
process.once('SIGTERM', () => {
  void relay
    .close()
    .then(() => store.close())
    .finally(() => process.exit(0))
})
process.on('disconnect', () => process.exit(0))
