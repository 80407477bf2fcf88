/**
 * Compaction in cluster mode (see Room#compacted and appliedRows.ts): a room that holds exactly what
 * the log serves up to the compaction's last row compacts to its own merged state; one that may
 * lack a row (another relay's, whose news it has not heard) merges the log as read. Either way the
 * log afterwards serves every acknowledged edit of every relay.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore } from './docStore.js'
import { PostgresDocStore } from './postgresDocStore.js'
import { useClusterRelays } from './test/clusterRelays.js'
import { waitFor } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'

const { postgres, redis } = useClusterServers({ redis: 2 })

const { startClusterRelay, connect } = useClusterRelays(() => postgres().url)

/** A PostgreSQL store that counts the compactions that merged something. */
const countingStore = async (compactions: { merged: number }): Promise<DocStore> => {
  const store = await PostgresDocStore.open(postgres().url)
  return new Proxy(store, {
    get(target, key) {
      if (key === 'compact') {
        return async (doc: string, merge: (updates: Uint8Array[], lastRow?: string) => Uint8Array) => {
          const merged = await target.compact(doc, merge)
          if (merged > 0) compactions.merged++
          return merged
        }
      }
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** The text a fresh load of the store's log serves. */
const storedText = async (doc: string): Promise<string> => {
  const reader = await PostgresDocStore.open(postgres().url)
  try {
    const loaded = new Y.Doc()
    for (const update of await reader.load(doc)) Y.applyUpdate(loaded, update)
    return loaded.getText('t').toString()
  } finally {
    await reader.close()
  }
}

/** Each relay's writer types its letters in turn, each acknowledged before the next. */
const typeInTurn = async (
  writers: ReadonlyArray<{ readonly client: { whenAcked(doc: string): Promise<void> }; readonly doc: Y.Doc }>,
  doc: string,
  edits: number,
): Promise<void> => {
  for (let i = 0; i < edits; i++) {
    const writer = writers[i % writers.length]!
    const text = writer.doc.getText('t')
    text.insert(text.length, String.fromCharCode(97 + (i % 26)))
    await writer.client.whenAcked(doc)
  }
}

describe('compaction in cluster mode', () => {
  it("keeps another relay's rows that the compacting room never heard of", async () => {
    const compactions = { merged: 0 }
    // A Redis each: neither room hears of the other's rows; both compact after every append.
    const options = { compactAfterUpdates: 1 }
    const a = await startClusterRelay(redis().url, { ...options, store: await countingStore(compactions) })
    const b = await startClusterRelay(redis(1).url, { ...options, store: await countingStore(compactions) })
    const doc = `compaction-unheard-${Date.now()}`
    const [onA, onB] = await Promise.all([connect(a), connect(b)])
    const writers = [
      { client: onA, doc: onA.open(doc).doc },
      { client: onB, doc: onB.open(doc).doc },
    ]
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    await typeInTurn(writers, doc, 12)
    await waitFor(() => compactions.merged >= 2, 'compactions on both relays', 10_000)
    const text = await storedText(doc)
    // Every letter each relay acknowledged (each writer typed at the end of its own text).
    expect([...text].sort().join('')).toBe('abcdefghijkl')
    expect(text.replace(/[^acegik]/g, '')).toBe('acegik')
    expect(text.replace(/[^bdfhjl]/g, '')).toBe('bdfhjl')
  })

  it('serves every edit of both relays after compactions made while the rooms hear each other', async () => {
    const compactions = { merged: 0 }
    const options = { compactAfterUpdates: 1 }
    const a = await startClusterRelay(redis().url, { ...options, store: await countingStore(compactions) })
    const b = await startClusterRelay(redis().url, { ...options, store: await countingStore(compactions) })
    const doc = `compaction-heard-${Date.now()}`
    const [onA, onB] = await Promise.all([connect(a), connect(b)])
    const entryA = onA.open(doc)
    const entryB = onB.open(doc)
    await Promise.all([onA.whenSynced(doc), onB.whenSynced(doc)])
    await typeInTurn(
      [
        { client: onA, doc: entryA.doc },
        { client: onB, doc: entryB.doc },
      ],
      doc,
      12,
    )
    await waitFor(
      () => entryA.doc.getText('t').length === 12 && entryB.doc.getText('t').length === 12,
      'every edit on both relays',
      10_000,
    )
    await waitFor(() => compactions.merged >= 2, 'compactions', 10_000)
    const text = entryA.doc.getText('t').toString()
    expect(entryB.doc.getText('t').toString()).toBe(text)
    expect(await storedText(doc)).toBe(text)
    // A relay that loads it now serves the same.
    const c = await startClusterRelay(redis().url)
    const onC = await connect(c)
    const entryC = onC.open(doc)
    await onC.whenSynced(doc)
    expect(entryC.doc.getText('t').toString()).toBe(text)
  })
})
