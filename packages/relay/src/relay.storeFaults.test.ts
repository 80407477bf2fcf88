/**
 * Storage faults, injected through the DocStore interface (a
 * FaultInjectingDocStore) or caused for real (a SQLite file at its size cap,
 * a PostgreSQL server stopped and started): a write the store did not make
 * durable is never acknowledged, its document is refused (4503), the relay
 * serves it again by itself once the store answers, and nothing that was
 * acknowledged is lost.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { closeCodes } from '@concord/protocol'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore } from './docStore.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { SqliteDocStore } from './sqliteDocStore.js'
import { FaultInjectingDocStore, sqliteFullError } from './test/faultInjectingDocStore.js'
import { NativeTestClient, type TestDocument } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'
import { startPostgres, type PostgresServer } from './test/servers.js'

let relay: TestRelay | undefined
const clients: NativeTestClient[] = []
const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const connect = async (): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

const tempDir = async (): Promise<string> => {
  const dir = await makeTempDir()
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const textOf = (updates: readonly Uint8Array[]): string => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

const type = (entry: TestDocument, what: string): void => {
  const text = entry.doc.getText('t')
  text.insert(text.length, what)
}

/** The text the client had when the relay last acknowledged everything it sent. */
const ackedText = (entry: TestDocument, snapshots: Map<number, string>): string => snapshots.get(entry.ackedSeq) ?? ''

/** Records the client's text at each seq it sends, so that what an ack covers is known. */
const recordSent = (entry: TestDocument): Map<number, string> => {
  const snapshots = new Map<number, string>([[0, '']])
  // After the test client's own 'update' listener, which numbered and sent the update.
  entry.doc.on('update', () => snapshots.set(entry.sentSeq, entry.doc.getText('t').toString()))
  return snapshots
}

/** Closes and reopens `name` with the same Y.Doc, as a client retrying after a 4503 does, until it syncs. */
const retryUntilServed = async (client: NativeTestClient, name: string, timeoutMs = 15_000): Promise<TestDocument> => {
  const deadline = Date.now() + timeoutMs
  const { doc } = client.documents.get(name)!
  for (;;) {
    client.send({ type: 'close', doc: name })
    // A copy: the test client keeps sending a reopened Y.Doc's updates under its old numbering too.
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
    const entry = client.open(name, copy)
    await waitFor(() => entry.synced || entry.error !== undefined, `"${name}" to be served or refused`, timeoutMs)
    if (entry.synced) return entry
    if (Date.now() > deadline) throw new Error(`"${name}" still refused after ${timeoutMs} ms: ${entry.error?.reason}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const expectRefused = async (entry: TestDocument): Promise<void> => {
  await waitFor(() => entry.error !== undefined, 'the document to be refused', 15_000)
  expect(entry.error?.code).toBe(closeCodes.documentUnavailable)
}

describe('storage faults', () => {
  it('never acknowledges an append that failed, refuses the document, and serves it again once the store answers', async () => {
    const store = new FaultInjectingDocStore(new SqliteDocStore(join(await tempDir(), 'concord.sqlite')))
    relay = await startRelay({ store })
    const client = await connect()
    const entry = client.open('notes')
    await client.whenSynced('notes')
    type(entry, 'kept ')
    await client.whenAcked('notes')
    const acked = entry.ackedSeq

    const full = store.fail('append', { error: sqliteFullError() })
    type(entry, 'refused ')
    await expectRefused(entry)
    expect(entry.ackedSeq).toBe(acked)
    expect(full.hits).toBe(1)
    expect(textOf(await store.inner.load('notes'))).toBe('kept ')

    // Another document is refused too while the store fails, and nothing else is.
    const other = client.open('other')
    await client.whenSynced('other')
    type(other, 'x')
    await expectRefused(other)

    store.clear()
    // The retry's sync step 2 carries what was never acknowledged.
    const again = await retryUntilServed(client, 'notes')
    await client.whenAcked('notes')
    expect(textOf(await store.load('notes'))).toBe('kept refused ')
    expect(again.ackedSeq).toBe(again.sentSeq)
  })

  it('refuses (4503) a document whose append stalls past storeTimeoutMs, without acknowledging it', async () => {
    const store = new FaultInjectingDocStore()
    relay = await startRelay({ store, storeTimeoutMs: 200 })
    const client = await connect()
    const entry = client.open('slow')
    await client.whenSynced('slow')
    // The client's own sync step 2 is a frame too: its ack may come after the sync.
    await client.whenAcked('slow')
    const acked = entry.ackedSeq
    const stall = store.stall('append')
    type(entry, 'late')
    await expectRefused(entry)
    expect(entry.ackedSeq).toBe(acked)
    // The stalled append lands after all: the retry stores nothing twice and loses nothing.
    stall.release()
    await retryUntilServed(client, 'slow')
    await client.whenAcked('slow')
    expect(textOf(await store.load('slow'))).toBe('late')
  })

  it('keeps serving and acknowledging when compaction fails', async () => {
    const store = new FaultInjectingDocStore()
    const failing = store.fail('compact')
    relay = await startRelay({ store, compactAfterUpdates: 5 })
    const client = await connect()
    const entry = client.open('busy')
    await client.whenSynced('busy')
    for (let i = 0; i < 40; i++) type(entry, 'x')
    await client.whenAcked('busy')
    await waitFor(() => failing.hits > 0, 'a compaction to be tried')
    expect(entry.error).toBeUndefined()
    expect(textOf(await store.load('busy'))).toBe('x'.repeat(40))
  })

  it('serves a document whose log holds an update no merge can take, quarantining that update', async () => {
    const store = new SqliteDocStore(join(await tempDir(), 'concord.sqlite'))
    const good = new Y.Doc()
    good.getText('t').insert(0, 'still served')
    await store.append('hurt', Y.encodeStateAsUpdate(good))
    // A row that does not decode (written by an older relay, a bad restore, a flipped bit).
    const broken = Uint8Array.of(1, 1, 0xff, 0xff, 0xff)
    await store.append('hurt', broken)
    const quarantined: string[] = []
    relay = await startRelay({ store, observer: { updateQuarantined: (from) => quarantined.push(from) } })
    const client = await connect()
    const entry = client.open('hurt')
    await client.whenSynced('hurt')
    expect(entry.error).toBeUndefined()
    expect(entry.doc.getText('t').toString()).toBe('still served')
    type(entry, ' and written')
    await client.whenAcked('hurt')
    expect(quarantined).toEqual(['store'])
    const aside = await store.loadQuarantined('hurt')
    expect(aside.map(({ update }) => [...update])).toEqual([[...broken]])
    expect(aside[0]!.reason).toContain('does not decode')
  })

  it('SQLite disk full: a real file at its size cap refuses writes (SQLITE_FULL) and recovers once space is freed', async () => {
    const path = join(await tempDir(), 'concord.sqlite')
    const sqlite = new SqliteDocStore(path, { maxDatabaseBytes: 512 * 1024 })
    const errors: unknown[] = []
    const store: DocStore = {
      ...sqlite,
      load: (doc) => sqlite.load(doc),
      append: (doc, update) =>
        sqlite.append(doc, update).catch((error: unknown) => Promise.reject(errors.push(error) && error)),
      compact: (doc, merge) => sqlite.compact(doc, merge),
      ping: () => sqlite.ping(),
      close: () => sqlite.close(),
    }
    // Another document takes half of the space.
    const filler = new Y.Doc()
    const fillerUpdates: Uint8Array[] = []
    filler.on('update', (update: Uint8Array) => fillerUpdates.push(update))
    for (let i = 0; i < 24; i++) filler.getText('t').insert(0, 'f'.repeat(10_000))
    for (const update of fillerUpdates) await sqlite.append('filler', update)
    relay = await startRelay({ store })
    const client = await connect()
    const entry = client.open('notes')
    const sent = recordSent(entry)
    await client.whenSynced('notes')
    let written = 0
    while (entry.error === undefined && written < 200) {
      type(entry, String(written++ % 10).repeat(4_000))
      await waitFor(() => entry.ackedSeq === entry.sentSeq || entry.error !== undefined, 'an ack or a refusal')
    }
    await expectRefused(entry)
    expect(errors).toContainEqual(expect.objectContaining({ code: 'SQLITE_FULL' }))
    const acked = ackedText(entry, sent)
    expect(acked.length).toBeGreaterThan(0)
    expect(textOf(await sqlite.load('notes')).length).toBe(acked.length)
    expect(textOf(await sqlite.load('notes'))).toBe(acked)

    // An operator frees space (another document goes); the relay writes again, without a restart.
    const admin = new Database(path)
    admin.prepare("DELETE FROM updates WHERE doc = 'filler'").run()
    admin.close()
    await retryUntilServed(client, 'notes')
    await client.whenAcked('notes')
    expect(textOf(await sqlite.load('notes'))).toBe(entry.doc.getText('t').toString())
  })
})

describe('storage faults with a real PostgreSQL', () => {
  let postgres: PostgresServer | undefined
  afterAll(async () => {
    await postgres?.stop()
  })

  it('refuses writes while PostgreSQL is down, acknowledging none, and recovers by itself once it is back', async () => {
    postgres = await startPostgres()
    const store = await PostgresDocStore.open(postgres.url, { connectionTimeoutMs: 1_000, statementTimeoutMs: 2_000 })
    relay = await startRelay({ store, storeTimeoutMs: 3_000 })
    const client = await connect()
    const entry = client.open('notes')
    await client.whenSynced('notes')
    type(entry, 'before ')
    await client.whenAcked('notes')

    await postgres.halt()
    const acked = entry.ackedSeq
    type(entry, 'during ')
    await expectRefused(entry)
    expect(entry.ackedSeq).toBe(acked)
    // While it is down, the document stays refused: the relay never serves a blank.
    client.send({ type: 'close', doc: 'notes' })
    const whileDown = client.open('notes', entry.doc)
    await expectRefused(whileDown)
    expect(whileDown.synced).toBe(false)
    expect(relay.relay.stats().documents).toBe(0)

    await postgres.resume()
    const again = await retryUntilServed(client, 'notes', 20_000)
    type(again, 'after')
    await client.whenAcked('notes')
    expect(textOf(await store.load('notes'))).toBe('before during after')
  }, 60_000)
})
