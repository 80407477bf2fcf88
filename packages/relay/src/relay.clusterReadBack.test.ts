/**
 * What the read-back of a cluster relay costs (see storedFirst.ts): a relay
 * that knows every row before its own (its appends, the other relays' news)
 * acknowledges without reading the store, and one that does not reads only
 * the rows after the last it knows. The guarantee itself (a contradicting
 * row whose news was lost still refuses the later one) is in
 * relay.clusterSquat.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { DocStore } from './docStore.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { useClusterRelays } from './test/clusterRelays.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { mergeUpdates } from './yjsUpdates.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'

const { postgres, redis } = useClusterServers({ redis: 2 })

interface RowRead {
  readonly after: string | undefined
  readonly rows: number
}

/** A PostgreSQL store that records each `loadRows` it answers (from which row, how many rows). */
const recordingStore = async (reads: RowRead[]): Promise<DocStore> => {
  const store = await PostgresDocStore.open(postgres().url)
  return new Proxy(store, {
    get(target, key) {
      if (key === 'loadRows') {
        return async (doc: string, after?: string, through?: string) => {
          const rows = await target.loadRows(doc, after, through)
          reads.push({ after, rows: rows.length })
          return rows
        }
      }
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

const { startClusterRelay, connect } = useClusterRelays(() => postgres().url)

/** Long enough for a loaded machine. */
const clusterTimeoutMs = 10_000

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

describe('the read-back of a cluster relay', () => {
  it('reads the store once per relay, not once per write, while the news of the other relay arrives', async () => {
    const storeOfA = new FaultInjectingDocStore(await PostgresDocStore.open(postgres().url))
    const storeOfB = new FaultInjectingDocStore(await PostgresDocStore.open(postgres().url))
    const a = await startClusterRelay(redis().url, { store: storeOfA })
    const b = await startClusterRelay(redis().url, { store: storeOfB })
    const doc = `read-back-${Date.now()}`
    const onA = await connect(a)
    const onB = await connect(b)
    const writers = [onA.open(doc), onB.open(doc)]
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    const loadsBefore = storeOfA.calls.load + storeOfB.calls.load

    // Each writes in turn, once the other's last edit reached it: its row follows one it heard of.
    const writes = 20
    let expected = ''
    for (let i = 0; i < writes; i++) {
      const client = i % 2 === 0 ? onA : onB
      const text = writers[i % 2]!.doc.getText('t')
      text.insert(text.length, String.fromCharCode(97 + i))
      expected += String.fromCharCode(97 + i)
      await client.whenAcked(doc)
      await waitFor(
        () => textOf(onA, doc) === expected && textOf(onB, doc) === expected,
        'the edit on both relays',
        clusterTimeoutMs,
      )
    }
    // One read of the rows per relay, to learn where the log is; then none.
    expect(storeOfA.calls.load + storeOfB.calls.load - loadsBefore).toBeLessThanOrEqual(2)
  })

  it('reads only the rows after the last one it knows when the news of the other relay is lost', async () => {
    const readsOfA: RowRead[] = []
    const readsOfB: RowRead[] = []
    // A Redis each: no news passes between them.
    const a = await startClusterRelay(redis().url, { store: await recordingStore(readsOfA) })
    const b = await startClusterRelay(redis(1).url, { store: await recordingStore(readsOfB) })
    const doc = `read-back-lost-${Date.now()}`
    const onA = await connect(a)
    const onB = await connect(b)
    const writers = [onA.open(doc), onB.open(doc)]
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    for (let i = 0; i < 10; i++) {
      writers[i % 2]!.doc.getText('t').insert(0, String.fromCharCode(97 + i))
      await (i % 2 === 0 ? onA : onB).whenAcked(doc)
    }
    for (const reads of [readsOfA, readsOfB]) {
      // The first read learns where the log is; each later one starts after the last row it knows
      // and holds the other relay's row and its own.
      expect(reads[0]!.after).toBeUndefined()
      expect(reads.length).toBeGreaterThan(1)
      for (const read of reads.slice(1)) {
        expect(read.after).toBeDefined()
        expect(read.rows).toBeLessThanOrEqual(2)
      }
    }
  })

  it("takes another relay's compaction as it reads it, without reading the whole log", async () => {
    const readsOfA: RowRead[] = []
    // A Redis each: A hears nothing of B's rows, and reads them.
    const a = await startClusterRelay(redis().url, { store: await recordingStore(readsOfA) })
    const b = await startClusterRelay(redis(1).url)
    const doc = `read-back-compacted-${Date.now()}`
    const onA = await connect(a)
    const onB = await connect(b)
    const writers = [onA.open(doc), onB.open(doc)]
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    for (let i = 0; i < 6; i++) {
      writers[i % 2]!.doc.getText('t').insert(0, String.fromCharCode(97 + i))
      await (i % 2 === 0 ? onA : onB).whenAcked(doc)
    }
    // Another relay compacts: the last row (B's, which A has not read) now holds every row before it.
    const compactor = await PostgresDocStore.open(postgres().url)
    try {
      expect(await compactor.compact(doc, mergeUpdates)).toBe(6)
    } finally {
      await compactor.close()
    }
    readsOfA.length = 0
    writers[0]!.doc.getText('t').insert(0, 'g')
    await onA.whenAcked(doc)
    // It read the rows after the last one it knew (the merged row and its own), never the whole log.
    expect(readsOfA.length).toBeGreaterThan(0)
    for (const read of readsOfA) expect(read.after).toBeDefined()
  })
})
