/**
 * Clock squatting across a cluster: a squatter on relay A writes under a
 * victim's next clocks, and the victim's real edit with those clocks reaches
 * relay B before the news of the squat does (here never: the relays share
 * PostgreSQL, but each has a Redis of its own, as when Redis loses the
 * message). The store's log order decides which content every load serves;
 * B must not acknowledge the edit the log will never serve.
 */
import { closeCodes } from '@concord/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { admitLog } from './quarantine.js'
import { useClusterRelays } from './test/clusterRelays.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor } from './test/relayHarness.js'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './test/servers.js'
import { mergeUpdates } from './yjsUpdates.js'

let postgres: PostgresServer
let redisOfA: RedisServer
let redisOfB: RedisServer

beforeAll(async () => {
  ;[postgres, redisOfA, redisOfB] = await Promise.all([startPostgres(), startRedis(), startRedis()])
}, 60_000)

afterAll(async () => {
  await Promise.all([postgres?.stop(), redisOfA?.stop(), redisOfB?.stop()])
})

const { startClusterRelay: startOnRedis, connect, openReader } = useClusterRelays(() => postgres.url)

const startClusterRelay = (redis: RedisServer) => startOnRedis(redis.url)

/** The text `t` that every load serves of `doc`: the log admitted in its order, as a relay loads it. */
const servedText = async (doc: string): Promise<string> => {
  const store = await openReader()
  const ydoc = new Y.Doc()
  const { updates } = admitLog(await store.load(doc))
  if (updates.length > 0) Y.applyUpdate(ydoc, mergeUpdates(updates))
  return ydoc.getText('t').toString()
}

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** Long enough for a loaded machine. */
const clusterTimeoutMs = 10_000

describe('clock squatting in cluster mode (PostgreSQL, a Redis per relay)', () => {
  it("refuses, never acknowledges, the victim's edit on relay B under clocks a squatter on A stored first", async () => {
    const a = await startClusterRelay(redisOfA)
    const b = await startClusterRelay(redisOfB)
    const doc = `squat-${Date.now()}`

    // The victim writes "hello" (clocks 0 to 4 of its client) through B.
    const victim = await connect(b)
    const v = victim.open(doc)
    await victim.whenSynced(doc)
    v.doc.getText('t').insert(0, 'hello')
    await victim.whenAcked(doc)
    const victimState = Y.encodeStateAsUpdate(v.doc)
    const victimId = v.doc.clientID

    // The squatter learns the victim's next clock from A's state and writes " evil" there first.
    const squatter = await connect(a)
    const s = squatter.open(doc)
    await waitFor(() => textOf(squatter, doc) === 'hello', 'the content on A', clusterTimeoutMs)
    expect(Y.decodeStateVector(Y.encodeStateVector(s.doc)).get(victimId)).toBe(5)
    const forged = new Y.Doc()
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(s.doc))
    forged.clientID = victimId
    const squat: Uint8Array[] = []
    forged.on('update', (update: Uint8Array) => squat.push(update))
    forged.getText('t').insert(5, ' evil')
    squatter.send({ type: 'sync', doc, seq: ++s.sentSeq, sync: { type: 'update', update: squat[0]! } })
    await squatter.whenAcked(doc)

    // The victim's own edit, under the same clocks, reaches B, which has not heard of the squat.
    const own = new Y.Doc()
    Y.applyUpdate(own, victimState)
    own.clientID = victimId
    const real: Uint8Array[] = []
    own.on('update', (update: Uint8Array) => real.push(update))
    own.getText('t').insert(5, ' world')
    const seq = ++v.sentSeq
    victim.send({ type: 'sync', doc, seq, sync: { type: 'update', update: real[0]! } })
    await waitFor(() => v.refused.has(seq) || v.ackedSeq >= seq, "an answer to the victim's edit", clusterTimeoutMs)
    expect(v.ackedSeq).toBeLessThan(seq)
    expect(v.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })

    // What every load serves is the squatter's; B, which served the victim's, reloads and serves it too.
    expect(await servedText(doc)).toBe('hello evil')
    await waitFor(() => v.error !== undefined, "the victim's document to be refused", clusterTimeoutMs)
    expect(v.error?.code).toBe(closeCodes.documentUnavailable)
    const reader = await connect(b)
    reader.open(doc)
    await waitFor(() => textOf(reader, doc) === 'hello evil', 'the served content on B', clusterTimeoutMs)
  })
})
