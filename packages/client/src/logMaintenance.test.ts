import type { NativeFrame } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { compactedState } from './compactedState.js'
import { openDocument, type RelayLink } from './docHandle.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import type { ConnectionStatus } from './syncStatus.js'

/** A document open on a fake relay that has sent its step 1 (answered) and its state; the frames it sent. */
const openOnRelay = async (store: MemoryLocalStore, compactAfterUpdates: number) => {
  const sent: NativeFrame[] = []
  const link: RelayLink & { status: ConnectionStatus } = { status: 'open', send: (frame) => (sent.push(frame), true) }
  const opened = openDocument({
    id: 'doc',
    store: Promise.resolve(store),
    link,
    onClose: () => {},
    compactAfterUpdates,
  })
  await opened.handle.whenLoaded()
  opened.sync.connectionChanged('open')
  opened.sync.receive({ type: 'sync', doc: 'doc', seq: 0, sync: { type: 'step1', stateVector: new Uint8Array([0]) } })
  opened.sync.receive({ type: 'sync', doc: 'doc', seq: 0, sync: { type: 'step2', update: new Uint8Array([0, 0]) } })
  await opened.log.whenIdle()
  /** Acknowledges every update the handle has sent, as the relay does once it stored them. */
  const ackAll = () => {
    const seqs = sent.flatMap((frame) => (frame.type === 'sync' && frame.seq > 0 ? [frame.seq] : []))
    opened.sync.receive({ type: 'ack', doc: 'doc', seq: Math.max(...seqs) })
  }
  return { ...opened, ackAll }
}

/** One keystroke at the end of the text, one Yjs transaction, as an editor makes them. */
const type = (doc: Y.Doc, keystrokes: number) => {
  const text = doc.getText('t')
  for (let i = 0; i < keystrokes; i++) text.insert(text.length, String.fromCharCode(97 + (i % 26)))
}

describe('compaction of the device store', () => {
  it("stores the document's state as the snapshot, not each keystroke's struct (issue 20)", async () => {
    const store = new MemoryLocalStore()
    const { handle, log, sync, ackAll } = await openOnRelay(store, 50)
    type(handle.doc, 300)
    await log.whenIdle()
    ackAll()
    await log.whenIdle()
    // Updates from elsewhere: appends that make a compaction due whatever counts the acknowledged edits.
    for (let i = 0; i < 50; i++) {
      const other = new Y.Doc()
      other.getText('other').insert(0, String(i))
      sync.receive({ type: 'sync', doc: 'doc', seq: 0, sync: { type: 'update', update: Y.encodeStateAsUpdate(other) } })
    }
    await log.whenIdle()
    const stored = await store.load('doc')
    expect(stored.updates).toEqual([])
    // Y.mergeUpdates of the 300 keystrokes alone is more than four times the doc's whole state.
    expect(stored.snapshot!.length).toBeLessThanOrEqual(Y.encodeStateAsUpdate(handle.doc).length)
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, stored.snapshot!)
    expect(reloaded.getText('t').toString()).toBe(handle.doc.getText('t').toString())
    handle.close()
  })
})

describe('when compaction runs', () => {
  it('compacts the edits the relay acknowledged once the acks go quiet, with no append after them (issue 20)', async () => {
    const store = new MemoryLocalStore()
    const { handle, log, ackAll } = await openOnRelay(store, 50)
    type(handle.doc, 120)
    await log.whenIdle()
    // All still pending: nothing to compact, and nothing is merged that was sent.
    expect((await store.load('doc')).updates).toHaveLength(120)
    ackAll()
    await log.whenIdle()
    const stored = await store.load('doc')
    expect(stored.updates).toEqual([])
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, stored.snapshot!)
    expect(reloaded.getText('t').toString()).toBe(handle.doc.getText('t').toString())
    handle.close()
  })

  it('does not compact for pending edits alone: a compaction would merge none of them', async () => {
    const store = new MemoryLocalStore()
    let compactions = 0
    const compact = store.compact.bind(store)
    store.compact = (doc, merge) => (compactions++, compact(doc, merge))
    const { handle, log } = await openOnRelay(store, 50)
    type(handle.doc, 120)
    await log.whenIdle()
    expect(compactions).toBe(0)
    handle.close()
  })
})

describe('compactedState', () => {
  it('keeps updates whose dependencies it was not given, and the deletions of text it does not hold', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    const text = doc.getText('t')
    text.insert(0, 'hello world')
    text.insert(5, ',')
    text.delete(0, 1)
    text.insert(text.length, '!')
    // Everything but the first update: each depends on it, and the deletion deletes from it.
    const merged = compactedState(updates.slice(1))
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, merged)
    expect(reloaded.getText('t').toString()).toBe('')
    Y.applyUpdate(reloaded, updates[0]!)
    expect(reloaded.getText('t').toString()).toBe('ello, world!')
  })
})
