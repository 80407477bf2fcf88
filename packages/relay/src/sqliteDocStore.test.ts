import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { SqliteDocStore } from './sqliteDocStore.js'
import { describeDocStore } from './test/docStoreConformance.js'
import { makeTempDir } from './test/relayHarness.js'

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
