import { createServer, type AddressInfo, type Socket } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { appendBatchStatement } from './postgresAppendBatch.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { describeDocStore } from './test/docStoreConformance.js'
import { describeDocStoreOutbox } from './test/outboxConformance.js'
import { waitFor } from './test/relayHarness.js'
import { startPostgres, type PostgresServer } from './test/servers.js'
import { mergeUpdates } from './yjsUpdates.js'

let server: PostgresServer
let databases = 0

beforeAll(async () => {
  server = await startPostgres()
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

/** A new, empty database on the test server; its URL. */
const freshDatabase = async (): Promise<string> => {
  const name = `concord_test_${++databases}`
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(server.url)
  url.pathname = `/${name}`
  return url.toString()
}

let currentUrl: string | undefined

describeDocStore('PostgresDocStore', {
  create: async () => {
    currentUrl = await freshDatabase()
    return PostgresDocStore.open(currentUrl)
  },
  reopen: async () => PostgresDocStore.open(currentUrl!),
})

describeDocStoreOutbox('PostgresDocStore', {
  create: async () => {
    currentUrl = await freshDatabase()
    return PostgresDocStore.open(currentUrl)
  },
  reopen: async () => PostgresDocStore.open(currentUrl!),
  share: async () => PostgresDocStore.open(currentUrl!),
})

/** An update of a new doc whose text is `text`. */
const update = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

const textOf = (updates: Uint8Array[]): string => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

describe('PostgresDocStore rows', () => {
  it("resolves an append with its row and the row before it in the document's log; loadRows reads after a row", async () => {
    const url = await freshDatabase()
    const [a, b] = await Promise.all([PostgresDocStore.open(url), PostgresDocStore.open(url)])
    try {
      const first = await a.append('doc', update('a'))
      expect(first.previous).toBeUndefined()
      // One batch of two rows of one document, beside another document's row.
      const [second, third, other] = await Promise.all([
        a.append('doc', update('b')),
        a.append('doc', update('c')),
        a.append('other', update('x')),
      ])
      expect(other!.previous).toBeUndefined()
      // Another relay's append follows them.
      const fourth = await b.append('doc', update('d'))
      expect([second!.previous, third!.previous, fourth.previous]).toEqual([first.id, second!.id, third!.id])
      expect((await b.loadRows('doc', second!.id)).map((row) => row.id)).toEqual([third!.id, fourth.id])
      expect((await b.loadRows('doc')).map((row) => row.id)).toEqual([first.id, second!.id, third!.id, fourth.id])
      expect(textOf((await a.loadRows('doc', first.id)).map((row) => row.update))).toHaveLength(3)
      // Past row 9 and 99, in the order of the numbers, not of their digits.
      for (let i = 0; i < 100; i++) await a.append('doc', update('e'))
      const ids = (await a.loadRows('doc')).map((row) => BigInt(row.id))
      expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)))
      expect(ids).toHaveLength(104)
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})

describe('PostgresDocStore read-back', () => {
  it("reads the rows up to a committed one without waiting for another document's append in flight", async () => {
    // A relay of a cluster reads its row back after its append (storedFirst.ts). Waiting for every
    // append in flight, as a load does, made each read-back wait for the next commit too.
    const url = await freshDatabase()
    const store = await PostgresDocStore.open(url)
    const otherRelay = new pg.Client({ connectionString: url })
    await otherRelay.connect()
    try {
      const first = await store.append('doc', update('a'))
      const second = await store.append('doc', update('b'))
      // Another relay holds the other document's lock: this relay's append to it stays in flight.
      await otherRelay.query('BEGIN')
      await otherRelay.query("SELECT pg_advisory_xact_lock(hashtext('other'))")
      let otherStored = false
      const stuck = store.append('other', update('x')).then(() => (otherStored = true))

      const rows = await store.loadRows('doc', first.id, second.id)
      expect(rows.map((row) => row.id)).toEqual([second.id])
      expect(otherStored).toBe(false)

      await otherRelay.query('COMMIT')
      await stuck
      expect((await store.loadRows('other')).map((row) => textOf([row.update]))).toEqual(['x'])
    } finally {
      await otherRelay.query('ROLLBACK').catch(() => {})
      await otherRelay.end()
      await store.close()
    }
  })
})

describe('PostgresDocStore shared by several relays', () => {
  it('loses no append when two relays compact one document while both append to it', async () => {
    const url = await freshDatabase()
    const [a, b] = await Promise.all([PostgresDocStore.open(url), PostgresDocStore.open(url)])
    try {
      const writer = new Y.Doc()
      const updates: Uint8Array[] = []
      writer.on('update', (update: Uint8Array) => updates.push(update))
      const text = writer.getText('t')
      let compactions = 0
      let merged = 0
      const compactLoop = async (store: PostgresDocStore, stop: () => boolean) => {
        while (!stop()) {
          const count = await store.compact('doc', mergeUpdates)
          compactions++
          merged += count
        }
      }
      let writing = true
      const compacting = Promise.all([compactLoop(a, () => !writing), compactLoop(b, () => !writing)])
      for (let round = 0; round < 80; round++) {
        const appends: Promise<unknown>[] = []
        for (let i = 0; i < 5; i++) {
          text.insert(text.length, String.fromCharCode(97 + ((round * 5 + i) % 26)))
          appends.push((i % 2 === 0 ? a : b).append('doc', updates.at(-1)!))
        }
        await Promise.all(appends)
      }
      writing = false
      await compacting
      expect(compactions).toBeGreaterThan(0)
      expect(merged).toBeGreaterThan(0)

      const reader = await PostgresDocStore.open(url)
      try {
        const loaded = await reader.load('doc')
        expect(textOf(loaded)).toBe(text.toString())
        expect(text.length).toBe(400)
        // Both relays' compactions left one consistent log, which compacts to one row.
        await reader.compact('doc', mergeUpdates)
        const compacted = await reader.load('doc')
        expect(compacted).toHaveLength(1)
        expect(textOf(compacted)).toBe(text.toString())
      } finally {
        await reader.close()
      }
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })

  it("reads and merges while another relay's append holds the document, and keeps that append", async () => {
    // A compaction that waited for the document's lock held it as it read and merged: every
    // append to the document, on every relay, waited for the merge (BENCHMARKS.md, "Round 7").
    const url = await freshDatabase()
    const [a, b] = await Promise.all([PostgresDocStore.open(url), PostgresDocStore.open(url)])
    const otherRelay = new pg.Client({ connectionString: url })
    await otherRelay.connect()
    try {
      const writer = new Y.Doc()
      const updates: Uint8Array[] = []
      writer.on('update', (update: Uint8Array) => updates.push(update))
      const text = writer.getText('t')
      for (const letter of 'ab') {
        text.insert(text.length, letter)
        await a.append('doc', updates.at(-1)!)
      }
      // The other relay's append, inserted and not committed yet: it holds the document's lock.
      text.insert(2, 'c')
      await otherRelay.query('BEGIN')
      await otherRelay.query(appendBatchStatement, [['doc'], [updates.at(-1)!], null])

      // Two relays compact at once, reading the same two rows.
      const merges: string[] = []
      const compactOn = (store: PostgresDocStore, relay: string) =>
        store.compact('doc', (log) => {
          merges.push(relay)
          return mergeUpdates(log)
        })
      const compactions = Promise.all([compactOn(a, 'a'), compactOn(b, 'b')])
      await waitFor(() => merges.length === 2, 'both compactions to merge while the append holds the lock')

      await otherRelay.query('COMMIT')
      // One of them replaced the two rows; the other found them gone and replaced nothing.
      expect((await compactions).sort()).toEqual([0, 2])
      const log = await a.load('doc')
      expect(log).toHaveLength(2)
      expect(textOf(log)).toBe('abc')
    } finally {
      await otherRelay.query('ROLLBACK').catch(() => {})
      await otherRelay.end()
      await Promise.all([a.close(), b.close()])
    }
  })

  it("commits a document's appends in the order of their ids: each waits for the document's lock", async () => {
    // What a relay of a cluster counts on when it reads the log back after its append (storedFirst.ts).
    const url = await freshDatabase()
    const store = await PostgresDocStore.open(url)
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['locked'])
      let appended = false
      const append = store.append('locked', Y.encodeStateAsUpdate(new Y.Doc())).then(() => (appended = true))
      // The append waits for the lock (PostgreSQL shows its request, not granted) and does not commit.
      for (let tries = 0; ; tries++) {
        if (tries > 250) throw new Error('the append never waited for the lock')
        const { rows } = await holder.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        if (rows[0]!.waiting > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(appended).toBe(false)
      await holder.query('COMMIT')
      await append
      expect(appended).toBe(true)
    } finally {
      await holder.end()
      await store.close()
    }
  })

  it('says the row before an append is the one another relay committed while the append waited for the lock', async () => {
    // The group commit is one statement: its insert must read the log only once the lock is held,
    // not under a snapshot taken before it waited (see postgresAppendBatch.ts).
    const url = await freshDatabase()
    const store = await PostgresDocStore.open(url)
    const other = new pg.Client({ connectionString: url })
    await other.connect()
    try {
      const first = await store.append('raced', Y.encodeStateAsUpdate(new Y.Doc()))
      await other.query('BEGIN')
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['raced'])
      const { rows } = await other.query<{ id: string }>(
        'INSERT INTO concord_updates (doc, data) VALUES ($1, $2) RETURNING id::text',
        ['raced', Buffer.from([0, 0])],
      )
      const append = store.append('raced', Y.encodeStateAsUpdate(new Y.Doc()))
      for (let tries = 0; ; tries++) {
        if (tries > 250) throw new Error('the append never waited for the lock')
        const waiting = await other.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        if (waiting.rows[0]!.waiting > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await other.query('COMMIT')
      const row = await append
      expect(rows[0]!.id).not.toBe(first.id)
      expect(row.previous).toBe(rows[0]!.id)
      expect((await store.loadRows('raced')).map(({ id }) => id)).toEqual([first.id, rows[0]!.id, row.id])
    } finally {
      await other.end()
      await store.close()
    }
  })

  it('refuses to open where no PostgreSQL listens', async () => {
    const nowhere = new URL(server.url)
    nowhere.port = '1'
    await expect(PostgresDocStore.open(nowhere.toString())).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('gives up connecting to a server that accepts and never answers, after connectionTimeoutMs', async () => {
    const held: Socket[] = []
    const silent = createServer((socket) => held.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const url = new URL(server.url)
      url.port = String((silent.address() as AddressInfo).port)
      const started = Date.now()
      await expect(PostgresDocStore.open(url.toString(), { connectionTimeoutMs: 200 })).rejects.toThrow(/timeout/i)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      for (const socket of held) socket.destroy()
      silent.close()
    }
  })

  it('cancels a statement that waits longer than statementTimeoutMs (a table locked by someone else)', async () => {
    const url = await freshDatabase()
    const store = await PostgresDocStore.open(url, { statementTimeoutMs: 200 })
    const locker = new pg.Client({ connectionString: url })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE concord_updates IN ACCESS EXCLUSIVE MODE')
      await expect(store.load('doc')).rejects.toMatchObject({ code: '57014' })
      await expect(store.append('doc', Uint8Array.of(0, 0))).rejects.toMatchObject({ code: '57014' })
      await locker.query('ROLLBACK')
      await store.append('doc', Uint8Array.of(0, 0))
      expect(await store.load('doc')).toHaveLength(1)
    } finally {
      await locker.end()
      await store.close()
    }
  })

  it('outlives the server ending a connection it holds for a removal (no uncaught error event)', async () => {
    const url = await freshDatabase()
    const errors: Error[] = []
    const store = await PostgresDocStore.open(url, { onError: (error) => errors.push(error) })
    const writer = new Y.Doc()
    writer.on('update', (update: Uint8Array) => void store.append('doc', update))
    writer.getText('t').insert(0, 'a')
    writer.getText('t').insert(1, 'b')
    const locker = new pg.Client({ connectionString: url })
    await locker.connect()
    try {
      expect(await store.load('doc')).toHaveLength(2)
      // The removal waits for this lock in a transaction, on a connection the store checked out of its pool...
      await locker.query('BEGIN')
      await locker.query("SELECT pg_advisory_xact_lock(hashtext('doc'))")
      const removing = store.remove('doc')
      let pid: number | undefined
      for (let attempt = 0; pid === undefined && attempt < 250; attempt++) {
        // pg_stat_activity is read once per transaction unless the snapshot is cleared.
        await locker.query('SELECT pg_stat_clear_snapshot()')
        const { rows } = await locker.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`,
        )
        pid = rows[0]?.pid
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(pid).toBeDefined()
      // ... and the server ends that connection (a restart, an administrator, a failover).
      await locker.query('SELECT pg_terminate_backend($1)', [pid])
      await expect(removing).rejects.toThrow()
      await locker.query('ROLLBACK')
      // Told, not thrown: the store goes on over a new connection.
      expect(errors.length).toBeGreaterThan(0)
      expect(textOf(await store.load('doc'))).toBe('ab')
    } finally {
      await locker.end()
      await store.close()
    }
  })
})
