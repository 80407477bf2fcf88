import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import { StoreWorkerExitedError } from './errors.js'
import { SqliteDocStore } from './sqliteDocStore.js'
import { mergeUpdates } from './yjsUpdates.js'
import { describeDocStore } from './test/docStoreConformance.js'
import { describeDocStoreOutbox } from './test/outboxConformance.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { makeTempDir } from './test/relayHarness.js'
import { crashWorker } from './test/sqliteWorkerCrash.js'

let dir: string | undefined

describeDocStore('SqliteDocStore', {
  create: async () => {
    dir = await makeTempDir()
    return new SqliteDocStore(join(dir, 'concord.sqlite'))
  },
  reopen: async () => new SqliteDocStore(join(dir!, 'concord.sqlite')),
  cleanup: async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = undefined
  },
  compactsTo: true,
})

describeDocStoreOutbox('SqliteDocStore', {
  create: async () => {
    dir = await makeTempDir()
    return new SqliteDocStore(join(dir, 'concord.sqlite'))
  },
  reopen: async () => new SqliteDocStore(join(dir!, 'concord.sqlite')),
  cleanup: async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = undefined
  },
})

// The fault wrapper, injecting nothing, must be the store it wraps, durability included.
describeDocStore('FaultInjectingDocStore over SqliteDocStore, injecting nothing', {
  create: async () => {
    dir = await makeTempDir()
    return new FaultInjectingDocStore(new SqliteDocStore(join(dir, 'concord.sqlite')))
  },
  reopen: async () => new FaultInjectingDocStore(new SqliteDocStore(join(dir!, 'concord.sqlite'))),
  cleanup: async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = undefined
  },
})

it('uses WAL and full sync by default, and refuses a database of another schema version', async () => {
  const tempDir = await makeTempDir()
  const path = join(tempDir, 'concord.sqlite')
  try {
    await new SqliteDocStore(path).close()
    const db = new Database(path)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    db.pragma('user_version = 99')
    db.close()
    expect(() => new SqliteDocStore(path)).toThrow('unknown Concord store schema version 99')
  } finally {
    await rm(tempDir, { recursive: true, force: true })
  }
})

it('opens a file of schema version 1, keeping its updates, and lists them without a time', async () => {
  const tempDir = await makeTempDir()
  const path = join(tempDir, 'concord.sqlite')
  try {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'from version 1')
    const update = Y.encodeStateAsUpdate(doc)
    const v1 = new Database(path)
    v1.exec(`CREATE TABLE updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL);
      CREATE INDEX updates_by_doc ON updates (doc, id); PRAGMA user_version = 1;`)
    v1.prepare('INSERT INTO updates (doc, data) VALUES (?, ?)').run('old', Buffer.from(update))
    v1.close()

    const store = new SqliteDocStore(path)
    try {
      expect(await store.load('old')).toEqual([update])
      await store.append('new', update)
      const listed = await store.list({ limit: 10 })
      expect(listed).toEqual([
        { name: 'new', bytes: update.byteLength, updatedAt: expect.any(Number) },
        { name: 'old', bytes: update.byteLength, updatedAt: undefined },
      ])
    } finally {
      await store.close()
    }
  } finally {
    await rm(tempDir, { recursive: true, force: true })
  }
})

it('opens a file of schema version 2, keeping its updates and tombstones, and keeps versions in it', async () => {
  const tempDir = await makeTempDir()
  const path = join(tempDir, 'concord.sqlite')
  try {
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'from version 2')
    const update = Y.encodeStateAsUpdate(doc)
    const v2 = new Database(path)
    v2.exec(`CREATE TABLE updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, data BLOB NOT NULL, stored_at INTEGER);
      CREATE INDEX updates_by_doc ON updates (doc, id);
      CREATE TABLE tombstones (doc TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = 2;`)
    v2.prepare('INSERT INTO updates (doc, data, stored_at) VALUES (?, ?, ?)').run('old', Buffer.from(update), 1)
    v2.prepare('INSERT INTO tombstones (doc, deleted_at) VALUES (?, ?)').run('gone', 1)
    v2.close()

    const store = new SqliteDocStore(path)
    try {
      expect(await store.load('old')).toEqual([update])
      await expect(store.load('gone')).rejects.toMatchObject({ code: 'documentDeleted' })
      const version = { id: 'v1', createdAt: 5, label: 'kept', authors: ['ada'], restoredFrom: undefined }
      expect(await store.saveVersion('old', { ...version, state: update })).toBe(true)
      expect(await store.listVersions('old', { limit: 5 })).toEqual([{ ...version, bytes: update.byteLength }])
    } finally {
      await store.close()
    }
    const reopened = new Database(path)
    expect(reopened.pragma('user_version', { simple: true })).toBe(3)
    reopened.close()
  } finally {
    await rm(tempDir, { recursive: true, force: true })
  }
})

describe('SqliteDocStore on its worker thread', () => {
  let tempDir: string
  let path: string
  let store: SqliteDocStore | undefined

  beforeEach(async () => {
    tempDir = await makeTempDir()
    path = join(tempDir, 'concord.sqlite')
  })

  afterEach(async () => {
    await store?.close()
    store = undefined
    await rm(tempDir, { recursive: true, force: true })
  })

  /** `count` updates, each inserting `size` bytes of text at the start of text 't'. */
  const bigUpdates = (count: number, size: number): Uint8Array[] => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    for (let i = 0; i < count; i++) doc.getText('t').insert(0, String(i % 10).repeat(size))
    return updates
  }

  it('loads and compacts a log of many rows, every row once and in order', async () => {
    store = new SqliteDocStore(path)
    // 3,000 rows: far more bytes than the worker's first buffer for a read (see BytesPacker).
    const appended = bigUpdates(3_000, 1)
    await Promise.all(appended.map((update) => store!.append('doc', update)))
    await store.close()

    store = new SqliteDocStore(path)
    expect(await store.load('doc')).toEqual(appended)
    let read: Uint8Array[] = []
    expect(await store.compact('doc', (log) => mergeUpdates((read = log)))).toBe(3_000)
    expect(read).toEqual(appended)
    const [merged] = await store.load('doc')
    const doc = new Y.Doc()
    Y.applyUpdate(doc, merged!)
    expect(doc.getText('t').length).toBe(3_000)
  })

  it('keeps the event loop turning while a commit is in flight', async () => {
    store = new SqliteDocStore(path)
    await store.ping()
    let committed = false
    let turnsWhileCommitting = 0
    // One batch of about 4 MB, made in one turn: one transaction, one fsync.
    const appends = Promise.all(bigUpdates(1000, 4000).map((update) => store!.append('doc', update)))
    void appends.then(() => (committed = true))
    const turn = (): void => {
      if (committed) return
      turnsWhileCommitting++
      setImmediate(turn)
    }
    setImmediate(turn)
    await appends
    // A store that commits on the event loop resolves the batch before any later callback runs.
    expect(turnsWhileCommitting).toBeGreaterThan(0)
    expect(await store.load('doc')).toHaveLength(1000)
  })

  it('rejects pending appends, and every later call, with a typed error when its worker dies', async () => {
    store = new SqliteDocStore(path)
    const [first, ...rest] = bigUpdates(4, 10)
    await store.append('doc', first!)
    const pending = rest.map((update) => store!.append('doc', update))
    await crashWorker(store)
    for (const append of pending) {
      await expect(append).rejects.toBeInstanceOf(StoreWorkerExitedError)
      await expect(append).rejects.toMatchObject({ code: 'storeWorkerExited' })
    }
    await expect(store.append('doc', first!)).rejects.toMatchObject({ code: 'storeWorkerExited' })
    await expect(store.load('doc')).rejects.toMatchObject({ code: 'storeWorkerExited' })
    await expect(store.ping()).rejects.toMatchObject({ code: 'storeWorkerExited' })
    await store.close()
    store = new SqliteDocStore(path)
    // The acknowledged append survived; the rejected ones were never stored.
    expect(await store.load('doc')).toEqual([first])
  })

  it('lets one of two concurrent compactions win, and the other change nothing', async () => {
    store = new SqliteDocStore(path)
    const updates = bigUpdates(10, 3)
    for (const update of updates) void store.append('doc', update)
    const results = await Promise.all([store.compact('doc', mergeUpdates), store.compact('doc', mergeUpdates)])
    expect(results).toEqual([10, 0])
    const loaded = await store.load('doc')
    expect(loaded).toHaveLength(1)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, loaded[0]!)
    expect(doc.getText('t').toString()).toHaveLength(30)
  })

  it("rejects the batch SQLite refuses with SQLite's error and code, and goes on with the next", async () => {
    store = new SqliteDocStore(path)
    await store.ping()
    const [first, second] = bigUpdates(2, 10)
    const other = new Database(path)
    try {
      other.exec('BEGIN EXCLUSIVE')
      // The worker waits for the lock (busy_timeout, 5 s), then gives up.
      await expect(store.append('doc', first!)).rejects.toMatchObject({ name: 'SqliteError', code: 'SQLITE_BUSY' })
      other.exec('COMMIT')
    } finally {
      other.close()
    }
    await store.append('doc', second!)
    expect(await store.load('doc')).toEqual([second])
  })
})
