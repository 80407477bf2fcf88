/**
 * Cluster mode as a user runs it: several concord-relay processes (the
 * built dist) on one real PostgreSQL and one real Redis, started by the
 * test on loopback ports, with clients on different relays.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '@concord/protocol'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import {
  NativeTestClient,
  startPostgres,
  startRedis,
  waitFor,
  type PostgresServer,
  type RedisServer,
} from '@concord/relay/testing'
import { killRelayProcesses, startRelayProcess, type RelayProcess } from './relayProcess.js'

let postgres: PostgresServer
let redis: RedisServer
let dataDir: string
const clients: NativeTestClient[] = []
/** Heartbeat of the relays under test: a killed relay's presence is gone within 3x this plus one beat. */
const heartbeatMs = 200
const clusterTimeoutMs = 20_000

beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
  dataDir = await mkdtemp(join(tmpdir(), 'concord-cluster-'))
}, 60_000)

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await killRelayProcesses()
})

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()])
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

/** The PostgreSQL URL with a password (trust authentication ignores it), to check that it is never printed. */
const storeUrl = () => {
  const url = new URL(postgres.url)
  url.password = 'pg-s3cret'
  return url.toString()
}

const startClusterRelay = (): Promise<RelayProcess> =>
  startRelayProcess(
    dataDir,
    0,
    '--store',
    storeUrl(),
    '--redis',
    redis.url,
    '--cluster-heartbeat-ms',
    String(heartbeatMs),
    '--log-level',
    'warn',
  )

const connect = async (relay: RelayProcess): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay.url)
  clients.push(client)
  return client
}

const itemsOf = (doc: Y.Doc): string[] => doc.getArray<string>('writes').toArray()

const presenceSeenBy = (client: NativeTestClient, doc: string): Set<number> => {
  const seen = new Map<number, { clock: number; state: string }>()
  for (const frame of client.received) {
    if (frame.type !== 'awareness' || frame.doc !== doc) continue
    for (const { clientId, clock, state } of decodeAwarenessUpdate(frame.update)) {
      const current = seen.get(clientId)
      if (!current || clock >= current.clock) seen.set(clientId, { clock, state })
    }
  }
  return new Set([...seen].filter(([, { state }]) => state !== 'null').map(([id]) => id))
}

describe('concord-relay in cluster mode', () => {
  it('says so on its start line, without the passwords', async () => {
    const relay = await startClusterRelay()
    expect(relay.startLine).toContain(`store: postgres://postgres:***@127.0.0.1:${postgres.port}/postgres`)
    expect(relay.startLine).toMatch(new RegExp(`cluster: redis://127\\.0\\.0\\.1:${redis.port} as relay [0-9a-f-]{36}`))
    expect(relay.startLine).not.toContain('pg-s3cret')
  })

  it('is ready only while PostgreSQL and Redis answer: /readyz names Redis once it is gone', async () => {
    const ownRedis = await startRedis()
    try {
      const relay = await startRelayProcess(
        dataDir,
        0,
        '--store',
        storeUrl(),
        '--redis',
        ownRedis.url,
        '--log-level',
        'warn',
      )
      const http = relay.url.replace('ws://', 'http://')
      const ready = await fetch(`${http}/readyz`)
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({
        status: 'ready',
        checks: [
          { name: 'store', ok: true },
          { name: 'redis', ok: true },
        ],
      })
      const metrics = await (await fetch(`${http}/metrics`)).text()
      expect(metrics).toContain('concord_dependency_up{dependency="store"} 1')
      expect(metrics).toContain('concord_dependency_up{dependency="redis"} 1')

      await ownRedis.stop()
      const notReady = await fetch(`${http}/readyz`)
      expect(notReady.status).toBe(503)
      expect(await notReady.json()).toMatchObject({ status: 'not ready', failing: ['redis'] })
      expect((await fetch(`${http}/healthz`)).status).toBe(200)
      expect(relay.stderr()).not.toContain('pg-s3cret')
    } finally {
      await ownRedis.stop()
    }
  })

  it('converges across three relays, and loses no acknowledged update of a relay killed with SIGKILL', async () => {
    const [r1, r2, r3] = await Promise.all([startClusterRelay(), startClusterRelay(), startClusterRelay()])
    const doc = `kill-${Date.now()}`
    const [w1, w2, w3] = await Promise.all([connect(r1!), connect(r2!), connect(r3!)])
    for (const writer of [w1, w2, w3]) writer.open(doc)
    await Promise.all([w1, w2, w3].map((writer) => writer.whenSynced(doc)))
    w3.send({ type: 'awareness', doc, update: encodeAwarenessUpdate([{ clientId: 3003, clock: 1, state: '{}' }]) })

    const entry3 = w3.documents.get(doc)!
    const seqOfWrite = new Map<string, number>()
    const write = (writer: NativeTestClient, id: string) => {
      const entry = writer.documents.get(doc)!
      entry.doc.getArray<string>('writes').push([id])
      if (writer === w3) seqOfWrite.set(id, entry.sentSeq)
    }
    for (let i = 0; i < 30; i++) {
      write(w1, `one-${i}`)
      write(w2, `two-${i}`)
      write(w3, `three-${i}`)
    }
    await Promise.all([w1, w2, w3].map((writer) => writer.whenAcked(doc)))
    await waitFor(
      () => [w1, w2, w3].every((writer) => itemsOf(writer.documents.get(doc)!.doc).length === 90),
      'the three relays to converge',
      clusterTimeoutMs,
    )
    await waitFor(() => presenceSeenBy(w1, doc).has(3003), 'presence of the R3 client on R1', clusterTimeoutMs)

    // Keep writing on R3 and kill it while writes are in flight.
    for (let i = 30; i < 60; i++) write(w3, `three-${i}`)
    await waitFor(() => entry3.ackedSeq >= seqOfWrite.get('three-35')!, 'some acks of the second burst')
    r3!.child.kill('SIGKILL')
    await r3!.exited
    const acked = [...seqOfWrite].filter(([, seq]) => seq <= entry3.ackedSeq).map(([id]) => id)
    expect(acked.length).toBeGreaterThanOrEqual(36)

    // Every write R3 acknowledged is in the shared store: a newcomer on R2 loads it.
    const reader = await connect(r2!)
    reader.open(doc)
    await reader.whenSynced(doc)
    const stored = new Set(itemsOf(reader.documents.get(doc)!.doc))
    expect(acked.filter((id) => !stored.has(id))).toEqual([])

    // The killed relay's client presence is removed elsewhere (its heartbeat expires).
    await waitFor(() => !presenceSeenBy(w1, doc).has(3003), 'R3 client presence to expire on R1', clusterTimeoutMs)

    // Its client reconnects to another relay (here the test moves it to R1) and sends what was not acknowledged.
    const moved = await connect(r1!)
    moved.open(doc, entry3.doc)
    await moved.whenSynced(doc)
    await moved.whenAcked(doc)
    await waitFor(
      () => [w1, w2, reader, moved].every((client) => itemsOf(client.documents.get(doc)!.doc).length === 120),
      'every client to have all 120 writes',
      clusterTimeoutMs,
    )
  })

  it('keeps clients converging when Redis restarts mid-run', async () => {
    const [r1, r2] = await Promise.all([startClusterRelay(), startClusterRelay()])
    const doc = `redis-${Date.now()}`
    const [a, b] = await Promise.all([connect(r1!), connect(r2!)])
    a.open(doc)
    b.open(doc)
    await Promise.all([a.whenSynced(doc), b.whenSynced(doc)])
    const push = (client: NativeTestClient, id: string) =>
      client.documents.get(doc)!.doc.getArray<string>('writes').push([id])
    push(a, 'a-before')
    push(b, 'b-before')
    await waitFor(() => itemsOf(a.documents.get(doc)!.doc).length === 2, 'the first writes')
    const restarted = redis.restart()
    push(a, 'a-during')
    push(b, 'b-during')
    await restarted
    push(a, 'a-after')
    push(b, 'b-after')
    await Promise.all([a.whenAcked(doc), b.whenAcked(doc)])
    await waitFor(
      () =>
        [a, b].every((client) => itemsOf(client.documents.get(doc)!.doc).length === 6) &&
        itemsOf(a.documents.get(doc)!.doc).join() === itemsOf(b.documents.get(doc)!.doc).join(),
      'both clients to converge after the restart',
      clusterTimeoutMs,
    )
  })
})
