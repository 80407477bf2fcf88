import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocumentHistory } from './documentHistory.js'
import { silentLogger } from './logger.js'
import { MemoryDocStore } from './memoryDocStore.js'
import type { Room } from './room.js'
import { ManualClock } from './test/manualClock.js'

const stateOf = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('a relay’s document history while the relay closes', () => {
  it('loads no room for a version that falls due, and takes it from the room’s last state instead', async () => {
    const store = new MemoryDocStore()
    const clock = new ManualClock()
    const acquired: string[] = []
    const history = new DocumentHistory({
      store,
      clock,
      logger: silentLogger,
      quietMs: 1_000,
      maxIntervalMs: 10_000,
      acquireRoom: (doc): Room => {
        acquired.push(doc)
        throw new Error('no room may be loaded while the relay closes')
      },
    })
    history.written('notes', 'ada')
    history.beginClosing()
    await clock.advance(5_000)
    expect(acquired).toEqual([])
    history.roomGone('notes', () => [stateOf('last state')])
    await history.close()
    const [version] = await store.listVersions('notes', { limit: 10 })
    expect(version).toMatchObject({ authors: ['ada'], label: undefined })
    const loaded = await store.loadVersion('notes', version!.id)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, loaded!.state)
    expect(doc.getText('body').toString()).toBe('last state')
  })
})
