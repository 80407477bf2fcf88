/**
 * Server-side documents in cluster mode: two relays on one real PostgreSQL
 * and one real Redis. A deletion on one relay reaches the connections of
 * the other at once (over the fan-out), and a server-side handle on one
 * relay edits with the clients of the other.
 */
import { closeCodes } from '@concord/protocol'
import { Redis } from 'ioredis'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import type { DocStore } from './docStore.js'
import type { Logger } from './logger.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { useClusterRelays } from './test/clusterRelays.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'

const { postgres, redis } = useClusterServers()

const { startClusterRelay: startOnRedis, connect, openReader } = useClusterRelays(() => postgres().url)

const startClusterRelay = (
  options: {
    readonly store?: DocStore
    readonly onDelete?: (deletion: { name: string }) => void
    readonly logger?: Logger
  } = {},
) => startOnRedis(redis().url, options)

/** The text `t` of what `store` holds of `doc`. */
const storedText = async (store: DocStore, doc: string): Promise<string> => {
  const ydoc = new Y.Doc()
  for (const update of await store.load(doc)) Y.applyUpdate(ydoc, update)
  return ydoc.getText('t').toString()
}

/** A fan-out message (see redisFanout.ts) from anyone who can reach Redis: a deletion, or a resync request. */
const publishFanout = async (doc: string, message: 'deleted' | 'resync'): Promise<void> => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, 'another-relay')
  encoding.writeVarUint(encoder, message === 'deleted' ? 0 : 1) // stream
  encoding.writeVarUint(encoder, message === 'deleted' ? 0 : 1) // seq
  encoding.writeVarUint(encoder, message === 'deleted' ? 4 : 3) // kind
  encoding.writeVarUint8Array(encoder, new Uint8Array())
  const publisher = new Redis(redis().url)
  try {
    await publisher.publish(`concord:doc:${doc}`, Buffer.from(encoding.toUint8Array(encoder)))
  } finally {
    publisher.disconnect()
  }
}

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** Long enough for a loaded machine; the deletion itself arrives in milliseconds. */
const clusterTimeoutMs = 10_000

describe('server-side documents in cluster mode (PostgreSQL + Redis)', () => {
  it('tells the connections on the other relay of a deletion at once (4404), and refuses their old edits', async () => {
    const deletions: Array<[string, string]> = []
    const [a, b] = await Promise.all([
      startClusterRelay({ onDelete: ({ name }) => void deletions.push(['A', name]) }),
      startClusterRelay({ onDelete: ({ name }) => void deletions.push(['B', name]) }),
    ])
    const doc = `deleted-${Date.now()}`
    const writer = await connect(a)
    writer.open(doc).doc.getText('t').insert(0, 'before')
    await writer.whenAcked(doc)
    const native = await connect(b)
    const onB = native.open(doc)
    await waitFor(() => textOf(native, doc) === 'before', 'the content on B', clusterTimeoutMs)
    const stock = new WebSocket(`${b.url}/${doc}`)
    const stockClosed = new Promise<number>((resolve) => stock.once('close', (code) => resolve(code)))
    await new Promise((resolve) => stock.once('open', resolve))
    const handle = await b.relay.openDocument(doc)
    expect(b.relay.stats().documents).toBe(1)

    const response = await fetch(`http://127.0.0.1:${a.port}/v1/docs/${doc}`, { method: 'DELETE' })
    expect(response.status).toBe(204)

    // No store call on B in between: only the fan-out can have told it.
    await waitFor(() => onB.error !== undefined, 'the error frame on B', clusterTimeoutMs)
    expect(onB.error).toEqual({ code: closeCodes.documentDeleted, reason: 'the document was deleted' })
    expect(native.closeEvent).toBeUndefined()
    expect(await stockClosed).toBe(closeCodes.documentDeleted)
    await expect(handle.flush()).rejects.toMatchObject({ code: 'documentDeleted' })
    expect(b.relay.stats().documents).toBe(0)
    expect(deletions).toEqual([['A', doc]])

    // An edit of the old incarnation sent to B later is refused there, as on A, and never stored.
    const returning = await connect(b)
    const again = returning.open(doc, onB.doc)
    onB.doc.getText('t').insert(0, 'offline edit ')
    await waitFor(() => again.error !== undefined, 'the refusal on B', clusterTimeoutMs)
    expect(again.error?.code).toBe(closeCodes.documentDeleted)
    await expect((await openReader()).load(doc)).rejects.toMatchObject({ code: 'documentDeleted' })
  })

  it('lets a handle on one relay edit with the clients of another, and flushes only once durable', async () => {
    const faulty = new FaultInjectingDocStore(await PostgresDocStore.open(postgres().url))
    const [a, b] = await Promise.all([startClusterRelay({ store: faulty }), startClusterRelay()])
    const doc = `handle-${Date.now()}`
    const client = await connect(b)
    client.open(doc)
    await client.whenSynced(doc)
    const handle = await a.relay.openDocument(doc, { by: 'indexer' })
    const reader = await openReader()

    const stall = faulty.stall('append')
    handle.doc.getText('t').insert(0, 'server')
    let flushed = false
    const flush = handle.flush().then(() => (flushed = true))
    await waitFor(() => faulty.waiting('append') === 1, 'the append to reach the store')
    // Not durable yet: not flushed, not in the store, not sent to the other relay.
    expect(await storedText(reader, doc)).toBe('')
    expect(flushed).toBe(false)
    expect(textOf(client, doc)).toBe('')
    stall.release()
    await flush
    expect(await storedText(reader, doc)).toBe('server')
    await waitFor(() => textOf(client, doc) === 'server', 'the handle’s edit on B', clusterTimeoutMs)

    client.documents.get(doc)!.doc.getText('t').insert(6, ' and client')
    await client.whenAcked(doc)
    await waitFor(
      () => handle.doc.getText('t').toString() === 'server and client',
      'the client’s edit in the handle on A',
      clusterTimeoutMs,
    )
    await handle.close()
    expect(await storedText(reader, doc)).toBe('server and client')
  })

  it('serves the HTTP API on every relay: a POST on one reaches the clients and the reads of the other', async () => {
    const [a, b] = await Promise.all([startClusterRelay(), startClusterRelay()])
    const doc = `http-${Date.now()}`
    const client = await connect(b)
    client.open(doc)
    await client.whenSynced(doc)

    const source = new Y.Doc()
    source.getText('t').insert(0, 'posted on A')
    const posted = await fetch(`http://127.0.0.1:${a.port}/v1/docs/${doc}/updates`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(Y.encodeStateAsUpdate(source)),
    })
    expect(posted.status).toBe(200)
    // Durable when answered: a connection of its own to the store reads it.
    expect(await storedText(await openReader(), doc)).toBe('posted on A')
    await waitFor(() => textOf(client, doc) === 'posted on A', 'the POST on B’s client', clusterTimeoutMs)

    const state = await fetch(`http://127.0.0.1:${b.port}/v1/docs/${doc}`)
    expect(state.status).toBe(200)
    const read = new Y.Doc()
    Y.applyUpdate(read, new Uint8Array(await state.arrayBuffer()))
    expect(read.getText('t').toString()).toBe('posted on A')

    // Only what a state vector lacks, from the other relay.
    const stateVector = Buffer.from(Y.encodeStateVector(read)).toString('base64url')
    const missing = await fetch(`http://127.0.0.1:${b.port}/v1/docs/${doc}?stateVector=${stateVector}`)
    const nothingNew = new Y.Doc()
    Y.applyUpdate(nothingNew, new Uint8Array(await missing.arrayBuffer()))
    expect(nothingNew.getText('t').toString()).toBe('')

    // Other content under the same clocks, sent to B, is refused there and changes nothing.
    const forged = new Y.Doc()
    forged.clientID = source.clientID
    forged.getText('t').insert(0, 'forged text')
    const refused = await fetch(`http://127.0.0.1:${b.port}/v1/docs/${doc}/updates`, {
      method: 'POST',
      body: new Uint8Array(Y.encodeStateAsUpdate(forged)),
    })
    expect(refused.status).toBe(422)
    expect(await storedText(await openReader(), doc)).toBe('posted on A')
    expect(textOf(client, doc)).toBe('posted on A')
  })

  it('believes a deletion from Redis only once the store shows the tombstone', async () => {
    const warnings: string[] = []
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (_, message) => warnings.push(message!),
    }
    const b = await startClusterRelay({ logger })
    const doc = `forged-${Date.now()}`
    const client = await connect(b)
    const entry = client.open(doc)
    entry.doc.getText('t').insert(0, 'kept')
    await client.whenAcked(doc)

    await publishFanout(doc, 'deleted')
    await waitFor(
      () => warnings.includes('told of a deletion the store does not show: ignored'),
      'the relay to check the store',
      clusterTimeoutMs,
    )
    expect(entry.error).toBeUndefined()
    entry.doc.getText('t').insert(4, ' open')
    await client.whenAcked(doc)
    expect(await storedText(await openReader(), doc)).toBe('kept open')
  })

  it('refuses a document whose deletion news was lost at the next resync from the store', async () => {
    const b = await startClusterRelay()
    const doc = `lost-${Date.now()}`
    const client = await connect(b)
    const entry = client.open(doc)
    entry.doc.getText('t').insert(0, 'read on')
    await client.whenAcked(doc)
    // Deleted where no fan-out hears of it, as when the message is lost while Redis is down.
    await (
      await openReader()
    ).remove!(doc)

    // What a relay whose publisher reconnected sends: resync every document.
    await publishFanout(doc, 'resync')
    await waitFor(() => entry.error !== undefined, 'the error frame after the resync', clusterTimeoutMs)
    expect(entry.error).toEqual({ code: closeCodes.documentDeleted, reason: 'the document was deleted' })
    expect(b.relay.stats().documents).toBe(0)
  })
})
