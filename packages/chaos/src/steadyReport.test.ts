import { createClient, type ConcordClient, type DocHandle, type WebSocketConstructor } from '@concord/client'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { SqliteLocalStore } from './sqliteLocalStore.js'
import { answerWhenSteady } from './steadyReport.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/**
 * A replica's documents as replicaProcess.ts keeps them, on a SQLite store that already holds
 * "stored" in document "a"; no relay listens, so the content can only come from the store.
 */
const replicaWithStoredDoc = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'concord-steady-report-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'store.sqlite')
  const clients: ConcordClient[] = []
  cleanups.push(async () => {
    for (const client of clients) await client.destroy()
  })
  const newClient = (): ConcordClient => {
    const client = createClient({
      url: 'ws://127.0.0.1:9',
      store: new SqliteLocalStore(path),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      connection: { backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
    })
    clients.push(client)
    return client
  }
  const writer = newClient()
  const first = writer.open('a')
  await first.whenLoaded()
  first.doc.getText('t').insert(0, 'stored')
  await writer.destroy()

  let client = newClient()
  const handles = new Map<string, DocHandle>([['a', client.open('a')]])
  await handles.get('a')!.whenLoaded()
  let replacing: Promise<void> | undefined
  return {
    replica: { replacing: () => replacing, handles: () => handles },
    /** The `destroyThenRecreate` lifecycle of replicaProcess.ts. */
    recreate: () => {
      const old = client
      handles.clear()
      replacing = old.destroy().then(() => {
        replacing = undefined
        client = newClient()
        handles.set('a', client.open('a'))
      })
    },
  }
}

const reported = (replica: Parameters<typeof answerWhenSteady<DocHandle>>[0]) =>
  new Promise<Record<string, string>>((resolve) => {
    void answerWhenSteady(replica, (open) =>
      resolve(Object.fromEntries([...open].map(([doc, handle]) => [doc, handle.doc.getText('t').toString()]))),
    )
  })

describe('a replica answers a report once its documents are steady', () => {
  it('with the stored content when a lifecycle handled in the same tick clears its documents', async () => {
    const { replica, recreate } = await replicaWithStoredDoc()
    // Node hands the IPC messages of one read to their listeners in one batch of nextTicks.
    const report = reported(replica)
    recreate()
    expect(await report).toEqual({ a: 'stored' })
  })

  it('with the stored content when it comes while a lifecycle recreates the client', async () => {
    const { replica, recreate } = await replicaWithStoredDoc()
    recreate()
    expect(await reported(replica)).toEqual({ a: 'stored' })
  })
})
