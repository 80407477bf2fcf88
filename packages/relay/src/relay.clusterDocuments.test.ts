/**
 * Server-side documents in cluster mode: two relays on one real PostgreSQL
 * and one real Redis. A deletion on one relay reaches the live connections
 * of the other at once, not at its next store call; a server-side handle on
 * one relay edits with the clients of the other.
 */
import { closeCodes } from '@concord/protocol'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { PostgresDocStore } from './postgresDocStore.js'
import { RedisFanout } from './redisFanout.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './test/servers.js'

let postgres: PostgresServer
let redis: RedisServer

beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
}, 60_000)

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()])
})

const relays: Array<TestRelay & { readonly fanout: RedisFanout }> = []
const clients: NativeTestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(
    relays.splice(0).map(async (relay) => {
      await relay.close()
      await relay.fanout.close()
    }),
  )
})

const startClusterRelay = async (): Promise<TestRelay> => {
  const store = await PostgresDocStore.open(postgres.url)
  const fanout = await RedisFanout.connect(redis.url, { heartbeatIntervalMs: 200, heartbeatTtlMs: 800 })
  const relay = { ...(await startRelay({ store, fanout })), fanout }
  relays.push(relay)
  return relay
}

const connect = async (relay: TestRelay): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay.url)
  clients.push(client)
  return client
}

describe('server-side documents in cluster mode', () => {
  it("closes another relay's live connections to a deleted document at once (4404)", async () => {
    const [a, b] = [await startClusterRelay(), await startClusterRelay()]
    const native = await connect(b)
    const doomed = native.open('cluster-doomed')
    doomed.doc.getText('t').insert(0, 'soon gone')
    await native.whenAcked('cluster-doomed')
    const stock = new WebSocket(`${b.url}/cluster-doomed`)
    const stockClosed = new Promise<number>((resolve) => stock.once('close', (code) => resolve(code)))
    await new Promise((resolve) => stock.once('open', resolve))
    const kept = native.open('cluster-kept')
    await native.whenSynced('cluster-kept')

    // Deleted on the other relay; nobody on b writes or opens anything meanwhile.
    await a.relay.deleteDocument('cluster-doomed')
    await waitFor(() => doomed.error !== undefined, "the error frame on the other relay's connection")
    expect(doomed.error).toEqual({ code: closeCodes.documentDeleted, reason: 'the document was deleted' })
    expect(await stockClosed).toBe(closeCodes.documentDeleted)
    expect(kept.error).toBeUndefined()
    expect(native.closeEvent).toBeUndefined()
  })

  it('edits through relay.openDocument on one relay with the clients of another, both ways', async () => {
    const [a, b] = [await startClusterRelay(), await startClusterRelay()]
    const client = await connect(b)
    const entry = client.open('cluster-shared')
    await client.whenSynced('cluster-shared')
    const server = await a.relay.openDocument('cluster-shared', { by: 'indexer' })
    try {
      server.doc.getText('t').insert(0, 'from the server')
      await server.flush()
      await waitFor(() => entry.doc.getText('t').toString() === 'from the server', "the server's edit on b")
      entry.doc.getText('t').insert(0, 'client: ')
      await client.whenAcked('cluster-shared')
      await waitFor(() => server.doc.getText('t').toString() === 'client: from the server', "b's edit on a")
    } finally {
      await server.close()
    }
  })
})
