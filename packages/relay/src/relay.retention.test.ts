/**
 * Retention on a real relay over SQLite: the background pass thins old automatic versions that
 * the store holds, keeps named ones and the newest, and counts what it deleted.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { NewVersion } from './docStore.js'
import { eventually } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start } = testRelays()

const hour = 3_600_000
const day = 24 * hour

const versionOf = (id: string, createdAt: number, label?: string): NewVersion => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, id)
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return { id, createdAt, label, authors: ['ada'], restoredFrom: undefined, state }
}

describe('retention', () => {
  it('thins old automatic versions in the background, bounded per pass, and keeps named ones', async () => {
    let thinned = 0
    const test = await start({
      history: { retention: { intervalMs: 50, maxDeletionsPerPass: 5 } },
      observer: { versionsThinned: (count) => (thinned += count) },
    })
    // The document's log, written straight to the store so that the relay takes no version of its own.
    const live = new Y.Doc()
    live.getText('body').insert(0, 'live')
    await test.store.append('notes', Y.encodeStateAsUpdate(live))
    // Twenty automatic versions a minute apart in one hour three days ago, a named one among them.
    const start_ = Math.floor((Date.now() - 3 * day) / hour) * hour
    for (let minute = 0; minute < 20; minute++) {
      await test.store.saveVersion!('notes', versionOf(`auto-${minute}`, start_ + minute * 60_000))
    }
    await test.store.saveVersion!('notes', versionOf('named', start_ + 30_000, 'before the launch'))
    await test.store.saveVersion!('notes', versionOf('recent', Date.now()))
    const ids = await eventually(async () => {
      const versions = await test.relay.listVersions('notes', { limit: 100 })
      return versions.length === 3 && versions.map((version) => version.id)
    }, 'the old hour thinned to one version')
    expect(ids).toEqual(['recent', 'named', 'auto-0'])
    expect(thinned).toBe(19)
    // What is left loads and decodes.
    const kept = await test.relay.loadVersion('notes', 'auto-0')
    const doc = new Y.Doc()
    Y.applyUpdate(doc, kept.state)
    expect(doc.getText('body').toString()).toBe('auto-0')
  })
})
