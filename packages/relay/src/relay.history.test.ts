/**
 * Version history on a real relay: automatic versions (quiet, continuous editing, unload, close),
 * named versions, and reading them back, over SQLite unless a test says otherwise.
 */
import { join } from 'node:path'
import { rm } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { canonicalOf } from './canonicalState.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { ManualClock } from './test/manualClock.js'
import { SqliteDocStore } from './sqliteDocStore.js'
import { eventually, makeTempDir, waitFor, type TestRelay } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'
import { mergeUpdates } from './yjsUpdates.js'

const { start, connect } = testRelays()

const textOf = (state: Uint8Array, name = 'body'): string => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return doc.getText(name).toString()
}

/** Writes `text` at the end of text 'body' of `name`, as `by`, durably. */
const write = async (test: TestRelay, name: string, text: string, by: string): Promise<void> => {
  const handle = await test.relay.openDocument(name, { by })
  handle.doc.getText('body').insert(handle.doc.getText('body').length, text)
  await handle.close()
}

describe('automatic versions', () => {
  it('are taken once an edited document is quiet, with its writers, and not again while nothing changes', async () => {
    // Time moves only when the test says: on a loaded machine, two writes may be further apart than quietMs.
    const clock = new ManualClock()
    const test = await start({ history: { quietMs: 100, maxIntervalMs: 60_000, clock } })
    await write(test, 'notes', 'hello', 'ada')
    await write(test, 'notes', ' world', 'bob')
    await clock.advance(99)
    expect(await test.relay.listVersions('notes')).toEqual([])
    await clock.advance(1)
    const [version] = await eventually(async () => {
      const versions = await test.relay.listVersions('notes')
      return versions.length > 0 && versions
    }, 'an automatic version')
    expect(version).toMatchObject({ label: undefined, authors: ['ada', 'bob'], restoredFrom: undefined })
    const loaded = await test.relay.loadVersion('notes', version!.id)
    expect(textOf(loaded.state)).toBe('hello world')
    expect(loaded.bytes).toBe(loaded.state.byteLength)
    // Quiet again for longer than quietMs, with no edit: no second version.
    await clock.advance(1_000)
    await write(test, 'other', 'x', 'ada')
    await clock.advance(100)
    await eventually(async () => (await test.relay.listVersions('other')).length > 0, 'a version of the other')
    expect(await test.relay.listVersions('notes')).toHaveLength(1)
  })

  it('are taken at most maxIntervalMs apart while editing never pauses', async () => {
    const clock = new ManualClock()
    const test = await start({ history: { quietMs: 60_000, maxIntervalMs: 150, clock } })
    const handle = await test.relay.openDocument('busy', { by: 'ada' })
    // An edit every 10 ms for 400 ms: never quiet, so only the interval takes versions (at 150 and about 310).
    for (let step = 0; step < 40; step++) {
      handle.doc.getText('body').insert(0, 'x')
      await handle.flush()
      await clock.advance(10)
    }
    await handle.close()
    await eventually(async () => (await test.relay.listVersions('busy')).length >= 2, 'two versions')
    expect(await test.relay.listVersions('busy')).toHaveLength(2)
  })

  it('are taken when a document unloads with unsaved edits, and only then', async () => {
    const test = await start({ unloadAfterMs: 20, history: { quietMs: 600_000, maxIntervalMs: 600_000 } })
    await write(test, 'notes', 'before unload', 'ada')
    const [version] = await eventually(async () => {
      const versions = await test.relay.listVersions('notes')
      return versions.length > 0 && versions
    }, 'the version taken at unload')
    expect(textOf((await test.relay.loadVersion('notes', version!.id)).state)).toBe('before unload')
    expect(version!.authors).toEqual(['ada'])
    // Opened, read and unloaded again without an edit: nothing new.
    const reader = await test.relay.openDocument('notes')
    await reader.close()
    await eventually(async () => test.relay.stats().documents === 0, 'the document to unload again')
    expect(await test.relay.listVersions('notes')).toHaveLength(1)
  })

  it('are taken when the relay closes with unsaved edits, before close resolves', async () => {
    const dataDir = await makeTempDir()
    try {
      const test = await start({ dataDir, history: { quietMs: 600_000, maxIntervalMs: 600_000 } })
      await write(test, 'notes', 'at shutdown', 'ada')
      await test.close()
      const store = new SqliteDocStore(join(dataDir, 'concord.sqlite'))
      try {
        const versions = await store.listVersions('notes', { limit: 10 })
        expect(versions).toHaveLength(1)
        expect(textOf((await store.loadVersion('notes', versions[0]!.id))!.state)).toBe('at shutdown')
      } finally {
        await store.close()
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('of the same content have the same id however its updates were merged, and another after a deletion', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    for (const letter of 'hello') doc.getText('body').insert(doc.getText('body').length, letter)
    const one = canonicalOf(mergeUpdates(updates))
    const other = canonicalOf(Y.encodeStateAsUpdate(doc))
    expect(one.contentId).toBe(other.contentId)
    expect(one.state).toEqual(other.state)
    // A deletion leaves the state vector as it was, but not the content.
    doc.getText('body').delete(0, 1)
    expect(canonicalOf(Y.encodeStateAsUpdate(doc)).contentId).not.toBe(one.contentId)
  })

  it('are none when history is off, and named versions are then refused', async () => {
    const store = new MemoryDocStore()
    const test = await start({ store, unloadAfterMs: 20, history: false })
    await write(test, 'notes', 'x', 'ada')
    await eventually(async () => test.relay.stats().documents === 0, 'the document to unload')
    expect(await store.listVersions('notes', { limit: 10 })).toEqual([])
    await expect(test.relay.saveVersion('notes', { label: 'v1' })).rejects.toMatchObject({
      code: 'historyUnavailable',
    })
  })
})

describe('named versions', () => {
  it('hold every update stored before the call, with the writers since the last version', async () => {
    const test = await start({ history: { quietMs: 600_000, maxIntervalMs: 600_000 } })
    await write(test, 'notes', 'draft', 'ada')
    const saved = await test.relay.saveVersion('notes', { label: 'v1' })
    expect(saved).toMatchObject({ label: 'v1', authors: ['ada'], restoredFrom: undefined })
    await write(test, 'notes', ' more', 'bob')
    const second = await test.relay.saveVersion('notes', { label: 'v2 ✓' })
    expect(second.authors).toEqual(['bob'])
    expect((await test.relay.listVersions('notes')).map((version) => version.label)).toEqual(['v2 ✓', 'v1'])
    expect(textOf((await test.relay.loadVersion('notes', saved.id)).state)).toBe('draft')
    expect(textOf((await test.relay.loadVersion('notes', second.id)).state)).toBe('draft more')
    const page = await test.relay.listVersions('notes', { limit: 1 })
    expect(page.map((version) => version.id)).toEqual([second.id])
    expect(await test.relay.listVersions('notes', { before: second.id })).toMatchObject([{ id: saved.id }])
  })

  it('that fail to be saved leave their edits and writers to the next automatic version', async () => {
    class FailingOnce extends MemoryDocStore {
      failures = 1
      override async saveVersion(...args: Parameters<MemoryDocStore['saveVersion']>): Promise<boolean> {
        if (this.failures-- > 0) throw new Error('the disk is full')
        return super.saveVersion(...args)
      }
    }
    // Time moves only when the test says: the automatic version never comes before the named one.
    const clock = new ManualClock()
    const test = await start({ store: new FailingOnce(), history: { quietMs: 300, maxIntervalMs: 60_000, clock } })
    await write(test, 'notes', 'draft', 'ada')
    await expect(test.relay.saveVersion('notes', { label: 'v1' })).rejects.toThrow('the disk is full')
    await clock.advance(300)
    const [version] = await eventually(async () => {
      const versions = await test.relay.listVersions('notes')
      return versions.length > 0 && versions
    }, 'the automatic version')
    expect(version).toMatchObject({ label: undefined, authors: ['ada'] })
  })

  it('leave an edit stored while their state was being read unsaved, for the next automatic version', async () => {
    const store = new FaultInjectingDocStore(new MemoryDocStore())
    const clock = new ManualClock()
    const test = await start({ store, history: { quietMs: 100, maxIntervalMs: 60_000, clock } })
    await write(test, 'notes', 'draft', 'ada')
    await clock.advance(100)
    await eventually(async () => (await test.relay.listVersions('notes')).length === 1, 'the first automatic version')
    // Ada's edit is admitted but not yet durable: the named version reads it and waits for its write.
    const stall = store.stall('append')
    const ada = await test.relay.openDocument('notes', { by: 'ada' })
    ada.doc.getText('body').insert(5, ' A')
    await waitFor(() => stall.waiting === 1, 'ada’s held append')
    const saving = test.relay.saveVersion('notes', { label: 'v1' })
    await new Promise((resolve) => setImmediate(resolve))
    // Bob's edit comes after that read, and its write is durable in the same turn as Ada's.
    const bob = await test.relay.openDocument('notes', { by: 'bob' })
    bob.doc.getText('body').insert(0, 'B ')
    await waitFor(() => stall.waiting === 2, 'bob’s held append')
    stall.release()
    const saved = await saving
    expect(textOf((await test.relay.loadVersion('notes', saved.id)).state)).toBe('draft A')
    // Only edits stored before the read are known to be in it: Ada's, durable after, counts as unsaved too.
    expect(saved.authors).toEqual([])
    await Promise.all([ada.close(), bob.close()])
    // Bob's edit is in no version yet: it is still unsaved, and the next automatic version holds it.
    await clock.advance(100)
    const [latest] = await eventually(async () => {
      const versions = await test.relay.listVersions('notes')
      return versions.length === 3 && versions
    }, 'an automatic version with bob’s edit')
    expect(latest).toMatchObject({ label: undefined, authors: ['ada', 'bob'] })
    expect(textOf((await test.relay.loadVersion('notes', latest!.id)).state)).toBe('B draft A')
  })

  it('refuse a bad label, and an id the document does not have (another document’s included)', async () => {
    const test = await start()
    await write(test, 'a', 'x', 'ada')
    const ofA = await test.relay.saveVersion('a', { label: 'mine' })
    await expect(test.relay.saveVersion('a', { label: '' })).rejects.toMatchObject({ code: 'malformedMessage' })
    await expect(test.relay.saveVersion('a', { label: 'x'.repeat(257) })).rejects.toMatchObject({
      code: 'malformedMessage',
    })
    await expect(test.relay.loadVersion('b', ofA.id)).rejects.toMatchObject({ code: 'versionNotFound' })
    await expect(test.relay.loadVersion('a', 'no-such-id')).rejects.toMatchObject({ code: 'versionNotFound' })
    await expect(test.relay.saveVersion('', { label: 'x' })).rejects.toMatchObject({ code: 'invalidDocumentName' })
  })
})

describe('restoring a version', () => {
  it('is one durable edit that every live client gets, then a version that says what it restored', async () => {
    const test = await start({ history: { quietMs: 600_000, maxIntervalMs: 600_000 } })
    const [one, two] = [await connect(test), await connect(test)]
    const docOne = one.open('notes').doc
    const docTwo = two.open('notes').doc
    await Promise.all([one.whenSynced('notes'), two.whenSynced('notes')])
    docOne.getText('body').insert(0, 'first draft', { bold: true })
    docOne.getMap('meta').set('todos', ['a', 'b'])
    await one.whenAcked('notes')
    const v1 = await test.relay.saveVersion('notes', { label: 'v1' })
    // An offline replica forks here, and edits later.
    const offline = new Y.Doc()
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(docOne))
    docTwo.getText('body').insert(0, 'rewritten: ')
    docTwo.getMap('meta').set('todos', ['c'])
    docTwo.getMap('meta').set('extra', true)
    await two.whenAcked('notes')
    offline.getText('body').insert(offline.getText('body').length, ' (offline)')

    const restored = await test.relay.restoreVersion('notes', v1.id, { by: 'ada' })
    expect(restored).toMatchObject({ label: `restored from ${v1.id}`, restoredFrom: v1.id })
    expect(restored.authors).toContain('ada')
    const expected = { body: [{ insert: 'first draft', attributes: { bold: true } }], meta: { todos: ['a', 'b'] } }
    const contentOf = (doc: Y.Doc) => ({ body: doc.getText('body').toDelta(), meta: doc.getMap('meta').toJSON() })
    await waitFor(
      () =>
        JSON.stringify(contentOf(docOne)) === JSON.stringify(expected) &&
        JSON.stringify(contentOf(docTwo)) === JSON.stringify(expected),
      'both clients to show v1',
    )
    // Durable: the store holds it.
    const stored = new Y.Doc()
    for (const update of await test.store.load('notes')) Y.applyUpdate(stored, update)
    expect(contentOf(stored)).toEqual(expected)
    expect((await test.relay.listVersions('notes')).map((version) => version.id)).toEqual([restored.id, v1.id])

    // The offline replica comes back: its edit merges with the restore like any edit.
    const late = await test.relay.openDocument('notes', { by: 'bob' })
    Y.applyUpdate(late.doc, Y.encodeStateAsUpdate(offline))
    await late.close()
    await waitFor(() => docTwo.getText('body').toString() === 'first draft (offline)', 'the offline edit to merge')
    expect(docOne.getText('body').toString()).toBe('first draft (offline)')
  })

  it('refuses an unknown id or another document’s, changing nothing', async () => {
    const test = await start({ history: { quietMs: 600_000, maxIntervalMs: 600_000 } })
    await write(test, 'a', 'of a', 'ada')
    await write(test, 'b', 'of b', 'ada')
    const ofA = await test.relay.saveVersion('a', { label: 'a1' })
    const before = await test.store.load('b')
    await expect(test.relay.restoreVersion('b', ofA.id)).rejects.toMatchObject({ code: 'versionNotFound' })
    await expect(test.relay.restoreVersion('b', 'nope')).rejects.toMatchObject({ code: 'versionNotFound' })
    expect(await test.store.load('b')).toEqual(before)
    expect(await test.relay.listVersions('b')).toEqual([])
  })
})
