/**
 * Cluster mode in one process: several relays on one real PostgreSQL and
 * one real Redis (both started by the test on loopback ports), clients on
 * different relays. The process-level tests (SIGKILL) are in apps/relay.
 */
import { decodeAwarenessUpdate, encodeAwarenessUpdate } from '@concord/protocol'
import { Redis } from 'ioredis'
import * as encoding from 'lib0/encoding'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { PostgresDocStore } from './postgresDocStore.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { useClusterRelays } from './test/clusterRelays.js'
import { waitFor } from './test/relayHarness.js'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './test/servers.js'

let postgres: PostgresServer
let redis: RedisServer

beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
}, 60_000)

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()])
})

const cluster = useClusterRelays(() => postgres.url)
const connect = cluster.connect

/** A relay in cluster mode; a short heartbeat so that a dead relay is noticed within a test. */
const startClusterRelay = () =>
  cluster.startClusterRelay(redis.url, {}, { fanout: { heartbeatIntervalMs: 200, heartbeatTtlMs: 800 } })

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** Every awareness state `client` was last told of for `doc`, by Yjs client id (removed ones left out). */
const presenceSeenBy = (client: NativeTestClient, doc: string): Map<number, string> => {
  const seen = new Map<number, { clock: number; state: string }>()
  for (const frame of client.received) {
    if (frame.type !== 'awareness' || frame.doc !== doc) continue
    for (const { clientId, clock, state } of decodeAwarenessUpdate(frame.update)) {
      const current = seen.get(clientId)
      if (!current || clock >= current.clock) seen.set(clientId, { clock, state })
    }
  }
  return new Map([...seen].filter(([, { state }]) => state !== 'null').map(([id, { state }]) => [id, state]))
}

const clusterTimeoutMs = 15_000

describe('relays in cluster mode (PostgreSQL + Redis)', () => {
  it('lets clients on three relays edit one document and converge', async () => {
    const cluster = await Promise.all([startClusterRelay(), startClusterRelay(), startClusterRelay()])
    const doc = `converge-${Date.now()}`
    const editors = await Promise.all(cluster.map(connect))
    for (const editor of editors) editor.open(doc)
    await Promise.all(editors.map((editor) => editor.whenSynced(doc)))
    for (const [i, editor] of editors.entries()) {
      const text = editor.documents.get(doc)!.doc.getText('t')
      for (let n = 0; n < 20; n++) text.insert(text.length, String(i))
    }
    await Promise.all(editors.map((editor) => editor.whenAcked(doc)))
    await waitFor(
      () =>
        editors.every(
          (editor) => textOf(editor, doc).length === 60 && textOf(editor, doc) === textOf(editors[0]!, doc),
        ),
      'the three editors to converge',
      clusterTimeoutMs,
    )
    // A newcomer on any relay loads everything from the shared store.
    const late = await connect(cluster[1]!)
    late.open(doc)
    await late.whenSynced(doc)
    expect(textOf(late, doc)).toBe(textOf(editors[0]!, doc))
  })

  it('relays presence between relays, and drops the presence of a relay that stopped', async () => {
    const [a, b, c] = await Promise.all([startClusterRelay(), startClusterRelay(), startClusterRelay()])
    const doc = `presence-${Date.now()}`
    const watcher = await connect(a!)
    watcher.open(doc)
    await watcher.whenSynced(doc)
    const onB = await connect(b!)
    onB.open(doc)
    const onC = await connect(c!)
    onC.open(doc)
    await Promise.all([onB.whenSynced(doc), onC.whenSynced(doc)])
    onB.send({
      type: 'awareness',
      doc,
      update: encodeAwarenessUpdate([{ clientId: 201, clock: 1, state: '{"u":"b"}' }]),
    })
    onC.send({
      type: 'awareness',
      doc,
      update: encodeAwarenessUpdate([{ clientId: 301, clock: 1, state: '{"u":"c"}' }]),
    })
    await waitFor(() => presenceSeenBy(watcher, doc).size === 2, 'presence from B and C on A', clusterTimeoutMs)
    expect([...presenceSeenBy(watcher, doc)]).toEqual(
      expect.arrayContaining([
        [201, '{"u":"b"}'],
        [301, '{"u":"c"}'],
      ]),
    )

    // A client that leaves B is removed on A at once.
    onB.close()
    await waitFor(() => !presenceSeenBy(watcher, doc).has(201), 'B client presence to be removed', clusterTimeoutMs)
    // C stops talking to Redis while its client stays connected: its heartbeat expires.
    await c!.fanout.close()
    await waitFor(() => presenceSeenBy(watcher, doc).size === 0, 'C presence to expire', clusterTimeoutMs)
    // A newcomer on A gets the presence of the clients still there, from the other relays too.
    onC.close()
    const onB2 = await connect(b!)
    onB2.open(doc)
    await onB2.whenSynced(doc)
    onB2.send({ type: 'awareness', doc, update: encodeAwarenessUpdate([{ clientId: 202, clock: 1, state: '{}' }]) })
    const newcomer = await connect(a!)
    newcomer.open(doc)
    await waitFor(() => presenceSeenBy(newcomer, doc).has(202), 'B presence on a newcomer of A', clusterTimeoutMs)
  })

  it('converges when Redis restarts in the middle of editing', async () => {
    const [a, b] = await Promise.all([startClusterRelay(), startClusterRelay()])
    const doc = `redis-restart-${Date.now()}`
    const [onA, onB] = await Promise.all([connect(a!), connect(b!)])
    onA.open(doc)
    onB.open(doc)
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    const type = (client: NativeTestClient, what: string) => {
      const text = client.documents.get(doc)!.doc.getText('t')
      text.insert(text.length, what)
    }
    type(onA, 'a1')
    type(onB, 'b1')
    await waitFor(() => textOf(onA, doc).length === 4 && textOf(onB, doc).length === 4, 'first edits', clusterTimeoutMs)

    const restarted = redis.restart()
    // Edits made while Redis is down or coming back: their messages are lost, the store has them.
    type(onA, 'a2')
    type(onB, 'b2')
    await restarted
    type(onA, 'a3')
    await Promise.all([onA.whenAcked(doc), onB.whenAcked(doc)])
    await waitFor(
      () => textOf(onA, doc).length === 10 && textOf(onA, doc) === textOf(onB, doc),
      `clients to converge after the restart (A: "${textOf(onA, doc)}", B: "${textOf(onB, doc)}")`,
      clusterTimeoutMs,
    )
  })

  it('resyncs a document from the store when it sees a gap in another relay’s messages', async () => {
    const relay = await startClusterRelay()
    const doc = `gap-${Date.now()}`
    const client = await connect(relay)
    client.open(doc)
    await client.whenSynced(doc)
    // Another relay stored an update, and its message was dropped: only the store has it.
    const elsewhere = new Y.Doc()
    elsewhere.getText('t').insert(0, 'from the store')
    const store = await PostgresDocStore.open(postgres.url)
    await store.append(doc, Y.encodeStateAsUpdate(elsewhere))
    await store.close()
    const publisher = new Redis(redis.url)
    try {
      const message = (seq: number) => {
        const encoder = encoding.createEncoder()
        encoding.writeVarString(encoder, 'other-relay')
        encoding.writeVarUint(encoder, 1) // stream
        encoding.writeVarUint(encoder, seq)
        encoding.writeVarUint(encoder, 2) // kind: a presence query, which carries no update
        encoding.writeVarUint8Array(encoder, new Uint8Array())
        return Buffer.from(encoding.toUint8Array(encoder))
      }
      await publisher.publish(`concord:doc:${doc}`, message(1))
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(textOf(client, doc)).toBe('')
      await publisher.publish(`concord:doc:${doc}`, message(3))
      await waitFor(() => textOf(client, doc) === 'from the store', 'the resync after the gap', clusterTimeoutMs)
    } finally {
      publisher.disconnect()
    }
  })
})
