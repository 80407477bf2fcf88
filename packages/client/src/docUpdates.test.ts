import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { openDocument } from './docHandle.js'
import { MemoryLocalStore } from './memoryLocalStore.js'

/** A store holding a snapshot of `content` in text 't'. */
const storeWith = async (content: string) => {
  const store = new MemoryLocalStore()
  const writer = new Y.Doc()
  writer.getText('t').insert(0, content)
  await store.append('doc', Y.encodeStateAsUpdate(writer), false)
  await store.compact('doc', (updates) => Y.mergeUpdates(updates))
  return store
}

const open = (store: MemoryLocalStore) =>
  openDocument({
    id: 'doc',
    store: Promise.resolve(store),
    link: { status: 'offline', send: () => false },
    onClose: () => {},
  })

/** The names of the events `doc` emits from now on. */
const emitted = (doc: Y.Doc): string[] => {
  const names: string[] = []
  const emit = doc.emit.bind(doc)
  doc.emit = (name, args) => {
    names.push(name)
    emit(name, args)
  }
  return names
}

describe("the client's update listener (issue 20)", () => {
  it('is detached while the stored state is applied, so Yjs does not encode that state again', async () => {
    const { handle, log } = open(await storeWith('stored text'))
    const events = emitted(handle.doc)
    await handle.whenLoaded()
    expect(handle.doc.getText('t').toString()).toBe('stored text')
    expect(events).toContain('afterTransaction')
    expect(events).not.toContain('update')
    // And attached again: a local edit is recorded.
    handle.doc.getText('t').insert(0, '> ')
    expect(events).toContain('update')
    expect(handle.pending).toBe(1)
    await log.whenIdle()
    handle.close()
  })

  it('hears an edit that an observer of the app makes as the stored state arrives', async () => {
    const store = await storeWith('stored text')
    const { handle, log } = open(store)
    let migrated = false
    handle.doc.getText('t').observe(() => {
      if (migrated) return
      migrated = true
      handle.doc.getMap('meta').set('schema', 2)
    })
    await handle.whenLoaded()
    expect(migrated).toBe(true)
    expect(handle.pending).toBe(1)
    await log.whenIdle()
    const pending = (await store.load('doc')).updates.filter((update) => update.pending)
    expect(pending).toHaveLength(1)
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, pending[0]!.update)
    expect(reloaded.getMap('meta').get('schema')).toBe(2)
    handle.close()
  })

  it("stays ahead of an app's listener added while the stored state is applied", async () => {
    const { handle, log } = open(await storeWith('stored text'))
    const pendingSeen: number[] = []
    let added = false
    handle.doc.getText('t').observe(() => {
      if (added) return
      added = true
      // Added as the stored state arrives, with the client's listener detached.
      handle.doc.on('update', () => pendingSeen.push(handle.pending))
    })
    await handle.whenLoaded()
    handle.doc.getText('t').insert(0, '> ')
    // The client counted the edit before the app's listener ran.
    expect(pendingSeen.at(-1)).toBe(1)
    await log.whenIdle()
    handle.close()
  })

  it('leaves the listeners of the app in place: they hear the stored state', async () => {
    const { handle } = open(await storeWith('stored text'))
    const heard: Uint8Array[] = []
    handle.doc.on('update', (update: Uint8Array) => heard.push(update))
    await handle.whenLoaded()
    expect(heard).toHaveLength(1)
    const copy = new Y.Doc()
    Y.applyUpdate(copy, heard[0]!)
    expect(copy.getText('t').toString()).toBe('stored text')
    handle.close()
  })
})
