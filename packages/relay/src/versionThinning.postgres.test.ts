/**
 * Retention in cluster mode: two relays' thinning passes on one PostgreSQL database at once, while
 * versions are still being saved, delete exactly what the tiers drop, once, with no failure.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { NewVersion } from './docStore.js'
import { silentLogger } from './logger.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { startPostgres, type PostgresServer } from './test/servers.js'
import { versionsToDrop } from './versionRetention.js'
import { VersionThinning } from './versionThinning.js'

const hour = 3_600_000
const day = 24 * hour
const now = 20_000 * day

let server: PostgresServer

beforeAll(async () => {
  server = await startPostgres()
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

const versionOf = (id: string, createdAt: number, label?: string): NewVersion => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, id)
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return { id, createdAt, label, authors: [], restoredFrom: undefined, state }
}

describe('VersionThinning on PostgreSQL, two relays at once', () => {
  it('deletes what the tiers drop, once between them, while versions are being saved', async () => {
    const admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    await admin.query('CREATE DATABASE concord_thinning')
    await admin.end()
    const url = new URL(server.url)
    url.pathname = '/concord_thinning'
    const [a, b] = await Promise.all([PostgresDocStore.open(url.toString()), PostgresDocStore.open(url.toString())])
    try {
      const docs = ['d0', 'd1', 'd2', 'd3']
      for (const doc of docs) {
        await a.append(doc, Y.encodeStateAsUpdate(new Y.Doc()))
        // 60 versions ten minutes apart, ending 2 days ago: one per hour of them is kept.
        for (let index = 0; index < 60; index++) {
          await a.saveVersion(
            doc,
            versionOf(`v${index}`, now - 2 * day - (60 - index) * 600_000, index % 7 === 0 ? 'named' : undefined),
          )
        }
      }
      const thinningOf = (store: PostgresDocStore) =>
        new VersionThinning({ store, logger: silentLogger, now: () => now, maxDeletionsPerPass: 10_000 })
      // Newer versions arrive while both thin: they are young, and must all stay.
      const saving = (async () => {
        for (let index = 0; index < 20; index++)
          await b.saveVersion(docs[index % docs.length]!, versionOf(`new${index}`, now - index))
      })()
      const [first, second] = await Promise.all([thinningOf(a).pass(), thinningOf(b).pass(), saving])
      expect(first.failures + second.failures).toBe(0)
      for (const doc of docs) {
        const versions = await a.listVersions(doc, { limit: 1000 })
        // What is left is what the tiers keep: thinning it again drops nothing.
        const retained = versions.map(({ id, createdAt, label }) => ({ id, createdAt, named: label !== undefined }))
        expect(versionsToDrop(retained, now)).toEqual([])
        expect(versions.filter((version) => version.id.startsWith('new'))).toHaveLength(5)
        expect(versions.filter((version) => version.label === 'named')).toHaveLength(9)
        // Ten hours of automatic versions: one per hour (the oldest of each) survives.
        expect(versions.filter((version) => version.id.startsWith('v') && version.label === undefined)).toHaveLength(10)
      }
      const deleted = first.deleted + second.deleted
      expect(deleted).toBe(docs.length * (60 - 9 - 10))
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  })
})
