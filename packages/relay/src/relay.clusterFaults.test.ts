/**
 * Cluster mode under faults, on a real PostgreSQL and a real redis-server
 * of this file's own (Redis is stopped here): a resync asked for while a
 * document loads, presence changed while Redis was down, and contradicting
 * updates stored by two relays at once.
 */
import { closeCodes, encodeAwarenessUpdate, decodeAwarenessUpdate } from '@concord/protocol'
import { Redis } from 'ioredis'
import * as encoding from 'lib0/encoding'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore } from './docStore.js'
import { encodeBatch } from './fanoutMessage.js'
import type { RedisFanout } from './redisFanout.js'
import type { RelayObserver } from './relayObserver.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import type { NativeTestClient, TestDocument } from './test/nativeTestClient.js'
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
const otherStore = cluster.openReader

afterEach(async () => {
  await redis.resume()
})

/** A relay in cluster mode; a short heartbeat so that a dead relay is noticed within a test. */
const startClusterRelay = (wrapStore?: (store: DocStore) => DocStore, observer: RelayObserver = {}) =>
  cluster.startClusterRelay(
    redis.url,
    { observer },
    { fanout: { heartbeatIntervalMs: 200, heartbeatTtlMs: 800 }, ...(wrapStore && { wrapStore }) },
  )

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** A fan-out message as another relay would publish it (see redisFanout.ts). */
const fanoutMessage = (relayId: string, seq: number, kind: number, payload = new Uint8Array()): Buffer => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, relayId)
  encoding.writeVarUint(encoder, 1) // stream
  encoding.writeVarUint(encoder, seq)
  encoding.writeVarUint(encoder, kind)
  encoding.writeVarUint8Array(encoder, payload)
  return Buffer.from(encoding.toUint8Array(encoder))
}
const queryKind = 2

/** Publishes `messages` on `doc`'s channel and resolves once a subscriber of its own has seen the last. */
const publishSeen = async (doc: string, messages: Buffer[]): Promise<void> => {
  const [publisher, subscriber] = [new Redis(redis.url), new Redis(redis.url)]
  try {
    const channel = `concord:doc:${doc}`
    await subscriber.subscribe(channel)
    let seen = 0
    subscriber.on('messageBuffer', () => seen++)
    for (const message of messages) await publisher.publish(channel, message)
    await waitFor(() => seen === messages.length, 'the fan-out messages to go round')
  } finally {
    publisher.disconnect()
    subscriber.disconnect()
  }
}

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

/** Resolves once `fanout` has noticed that Redis is gone. */
const untilDown = async (fanout: RedisFanout): Promise<void> => {
  const deadline = Date.now() + 5_000
  while (
    await fanout.ping().then(
      () => true,
      () => false,
    )
  ) {
    if (Date.now() > deadline) throw new Error('the fan-out still answers 5 s after Redis stopped')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Resolves once the relay has handled every frame `client` sent before (frames are handled in order). */
const roundTrip = async (client: NativeTestClient): Promise<void> => {
  const id = Math.floor(Math.random() * 1e9)
  client.send({ type: 'ping', doc: '', id })
  await waitFor(() => client.received.some((frame) => frame.type === 'pong' && frame.id === id), 'the pong')
}

describe('cluster mode under faults', () => {
  it('never forwards news of an update that decodes but no document could integrate', async () => {
    const doc = `bad-news-${Date.now()}`
    const quarantined: string[] = []
    const b = await startClusterRelay(undefined, { updateQuarantined: (from) => quarantined.push(from) })
    const onB = await connect(b)
    onB.open(doc)
    await onB.whenSynced(doc)
    // An item of client 5 whose origin is a later clock of its own: it decodes, and throws in a Y.Doc.
    const forward = Uint8Array.of(1, 1, 5, 0, 4, 0, 5, 10, 1, 0x78, 0)
    const batch = encodeBatch('other-relay', 1, 1, [{ kind: 0, update: forward }])
    await publishSeen(doc, [batch])
    await roundTrip(onB)
    await waitFor(() => quarantined.length > 0, 'B to set the news aside')
    expect(quarantined).toEqual(['relay'])
    const forwarded = onB.received.filter((frame) => frame.type === 'sync' && frame.doc === doc)
    expect(forwarded.some((frame) => frame.type === 'sync' && frame.sync.type === 'update')).toBe(false)
    expect(onB.documents.get(doc)!.error).toBeUndefined()
  })

  it('runs a resync asked for while the document loads once the load ends', async () => {
    let faults: FaultInjectingDocStore | undefined
    const relay = await startClusterRelay((store) => (faults = new FaultInjectingDocStore(store)))
    const doc = `resync-while-loading-${Date.now()}`
    // The load reads the store now; its answer comes late.
    const late = faults!.stall('load', { at: 'answer', times: 1 })
    const client = await connect(relay)
    client.open(doc)
    await waitFor(() => late.answered === 1, 'the load to have read the store')
    // Meanwhile another relay stores an update, and its message is lost: a gap says so.
    const elsewhere = new Y.Doc()
    elsewhere.getText('t').insert(0, 'stored elsewhere')
    await (await otherStore()).append(doc, Y.encodeStateAsUpdate(elsewhere))
    await publishSeen(doc, [fanoutMessage('other-relay', 1, queryKind), fanoutMessage('other-relay', 3, queryKind)])
    late.release()
    await client.whenSynced(doc)
    await waitFor(() => textOf(client, doc) === 'stored elsewhere', 'the resync after the load')
  })

  it('asks for presence again after a Redis outage, so changes made meanwhile show without a renewal', async () => {
    const [a, b] = await Promise.all([startClusterRelay(), startClusterRelay()])
    const doc = `presence-outage-${Date.now()}`
    const [watcher, speaker] = await Promise.all([connect(a), connect(b)])
    watcher.open(doc)
    speaker.open(doc)
    await Promise.all([watcher.whenSynced(doc), speaker.whenSynced(doc)])
    const say = (clock: number, state: string) =>
      speaker.send({ type: 'awareness', doc, update: encodeAwarenessUpdate([{ clientId: 501, clock, state }]) })
    say(1, '{"at":"before"}')
    await waitFor(() => presenceSeenBy(watcher, doc).get(501) === '{"at":"before"}', 'presence before the outage')

    await redis.halt()
    await untilDown(b.fanout)
    // The news of this change is lost: Redis is down.
    say(2, '{"at":"during"}')
    await roundTrip(speaker)
    await redis.resume()
    // The client does not renew its presence: only the relays' own exchange can bring it.
    await waitFor(
      () => presenceSeenBy(watcher, doc).get(501) === '{"at":"during"}',
      'presence changed during the outage, after Redis is back',
      10_000,
    )
  })

  it('refuses, never acknowledges, the later of two contradicting updates stored by two relays at once; quarantines it, keeps serving', async () => {
    const doc = `contradiction-${Date.now()}`
    const heard = { a: [] as string[], b: [] as string[], c: [] as string[] }
    const record = (into: string[]): RelayObserver => ({ updateQuarantined: (from) => into.push(from) })
    let faultsA: FaultInjectingDocStore | undefined
    const a = await startClusterRelay((store) => (faultsA = new FaultInjectingDocStore(store)), record(heard.a))
    const b = await startClusterRelay(undefined, record(heard.b))
    const [onA, onB] = await Promise.all([connect(a), connect(b)])
    const [entryA, entryB] = [onA.open(doc), onB.open(doc)]
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    const send = (client: NativeTestClient, entry: TestDocument, update: Uint8Array) =>
      client.send({ type: 'sync', doc, seq: ++entry.sentSeq, sync: { type: 'update', update } })

    // One writer (client id 4242) types 'aaaa', then 'bbbbbb', then either 'XXXX' or 'YYYY' under
    // the same clocks (10 to 13), and sends the two versions of those clocks to two relays at once.
    const version = (last: string) => {
      const forger = new Y.Doc()
      forger.clientID = 4242
      const parts: Uint8Array[] = []
      for (const part of ['aaaa', 'bbbbbb', last]) {
        const before = Y.encodeStateVector(forger)
        forger.getText('t').insert(forger.getText('t').length, part)
        parts.push(Y.encodeStateAsUpdate(forger, before))
      }
      return parts
    }
    const [first, gap, x] = version('XXXX')
    const y = version('YYYY')[2]!
    send(onA, entryA, first!)
    await onA.whenAcked(doc)
    await waitFor(() => textOf(onB, doc) === 'aaaa', 'the first part on B')
    // A's append of XXXX commits first, but A tells the others late: B admits YYYY meanwhile.
    const lateAnswer = faultsA!.stall('append', { at: 'answer', times: 1 })
    send(onA, entryA, x!)
    await waitFor(() => lateAnswer.answered === 1, 'A’s append to commit')
    send(onB, entryB, y)
    const ySeq = entryB.sentSeq
    // B stored YYYY, then read the log back: XXXX is before it, and every load serves that one.
    await waitFor(() => entryB.refused.has(ySeq) || entryB.ackedSeq >= ySeq, 'an answer to YYYY on B')
    expect(entryB.ackedSeq).toBeLessThan(ySeq)
    expect(entryB.refused.get(ySeq)).toMatchObject({ code: closeCodes.invalidUpdate })
    // B served YYYY to its peers: it refuses the document (4503), and its next load serves the store's.
    await waitFor(() => entryB.error !== undefined, 'B to refuse the document')
    expect(entryB.error?.code).toBe(closeCodes.documentUnavailable)
    lateAnswer.release()
    await onA.whenAcked(doc)
    expect(entryA.error).toBeUndefined()
    // B tells the others of an update only once the store serves it: A never heard of YYYY.
    expect(heard.a).toEqual([])

    // A relay that loads the document keeps the first in the store's log and sets the other aside.
    const c = await startClusterRelay(undefined, record(heard.c))
    const onC = await connect(c)
    const entryC = onC.open(doc)
    await onC.whenSynced(doc)
    expect(heard.c).toEqual(['store'])
    // Kept aside by the load, in a write of its own that the sync does not wait for.
    let aside = await c.store.loadQuarantined!(doc)
    for (const deadline = Date.now() + 10_000; aside.length === 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      aside = await c.store.loadQuarantined!(doc)
    }
    expect(aside.map(({ update }) => [...update])).toEqual([[...y]])
    expect(aside[0]!.reason).toContain('contradicts')
    // Still served: once the clocks in between arrive, every new reader sees the first version.
    Y.applyUpdate(entryC.doc, gap!)
    await onC.whenAcked(doc)
    expect(textOf(onC, doc)).toBe('aaaabbbbbbXXXX')
    const late = await connect(c)
    late.open(doc)
    await late.whenSynced(doc)
    expect(textOf(late, doc)).toBe('aaaabbbbbbXXXX')
  })
})
