/**
 * The victim of a clock squat converges and keeps its edits (issue 14, item
 * 3). A writer who read the victim's client id from a state vector writes
 * other content under the clocks the victim used offline; the relay keeps
 * the squatter's and refuses the victim's (4422). The victim's handle forks:
 * its edits move to a new client id in a new doc (`replaced`), which ends
 * synced, equal to what the relay stores and every fresh reader sees, with
 * both the victim's edits and the squatter's content; a reload opens the
 * forked log, not the old content.
 */
import 'fake-indexeddb/auto'
import { NativeTestClient } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocHandle } from './docHandle.js'
import type { LocalStore } from './localStore.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import type { ConcordError } from './errors.js'
import { cleanUp, forget, freshStoreName, makeClient, relayOnFixedPort, text } from './test/clientHarness.js'

afterEach(cleanUp)

/** Waits for `condition`, for at most `ms`. */
const until = async (condition: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

type Relay = Awaited<ReturnType<typeof relayOnFixedPort>>

/** What the relay stores for `doc`, as one Y.Doc. */
const stored = async (relay: Relay, doc: string): Promise<Y.Doc> => {
  const state = new Y.Doc()
  for (const update of await relay.current.store.load(doc)) Y.applyUpdate(state, update)
  return state
}

/** A fresh reader's copy of `doc`. */
const freshRead = async (relay: Relay, doc: string): Promise<Y.Doc> => {
  const reader = await NativeTestClient.connect(relay.url)
  const opened = reader.open(doc)
  await reader.whenSynced(doc)
  reader.close()
  return opened.doc
}

/**
 * Writes `edit` on a Y.Doc under `victimId`, from the relay's current state of `doc` (so at the
 * victim's next clocks), and sends it to the relay as a raw writer would.
 */
const squat = async (relay: Relay, doc: string, victimId: number, edit: (doc: Y.Doc) => void): Promise<void> => {
  const forger = await NativeTestClient.connect(relay.url)
  const forged = forger.open(doc)
  await forger.whenSynced(doc)
  const squatter = new Y.Doc()
  Y.applyUpdate(squatter, Y.encodeStateAsUpdate(forged.doc))
  const before = Y.encodeStateVector(squatter)
  squatter.clientID = victimId
  edit(squatter)
  Y.applyUpdate(forged.doc, Y.encodeStateAsUpdate(squatter, before))
  await forger.whenAcked(doc)
  forger.close()
}

const watch = (handle: DocHandle) => {
  const replaced: Array<{ doc: Y.Doc; previous: Y.Doc }> = []
  const errors: ConcordError[] = []
  handle.on('replaced', (doc, previous) => replaced.push({ doc, previous }))
  handle.on('error', (error) => errors.push(error))
  return { replaced, errors }
}

/** A victim that wrote `edit` offline, stored on the device under the name returned, with its client id. */
const offlineEdit = async (url: string, doc: string, edit: (doc: Y.Doc) => void) => {
  const name = freshStoreName()
  const offline = makeClient(url, { name, connect: false })
  const draft = offline.open(doc)
  await draft.whenLoaded()
  const victimId = draft.doc.clientID
  edit(draft.doc)
  forget(offline)
  await offline.destroy()
  return { name, victimId }
}

describe('the victim of a clock squat', () => {
  it('forks to a new doc that keeps its text, converges with the relay and readers, and ends synced', async () => {
    const relay = await relayOnFixedPort()
    const writer = makeClient(relay.url).open('squatted')
    writer.doc.getText('t').insert(0, 'shared. ')
    await writer.whenSynced()

    // The victim syncs, then types offline under its next clocks.
    const name = freshStoreName()
    const first = makeClient(relay.url, { name })
    await first.open('squatted').whenSynced()
    forget(first)
    await first.destroy()
    const offline = makeClient(relay.url, { name, connect: false })
    const draft = offline.open('squatted')
    await draft.whenLoaded()
    expect(text(draft)).toBe('shared. ')
    const victimId = draft.doc.clientID
    draft.doc.getText('t').insert(draft.doc.getText('t').length, 'real edit')
    forget(offline)
    await offline.destroy()

    // The squatter takes those clocks first; the writer builds on its content.
    await squat(relay, 'squatted', victimId, (doc) => doc.getText('t').insert(0, 'forged '))
    await until(() => text(writer).includes('forged'), 'the squat at the writer')
    writer.doc.getText('t').insert(text(writer).indexOf('forged') + 'forged'.length, '!')
    await writer.whenSynced()

    const client = makeClient(relay.url, { name })
    const victim = client.open('squatted')
    victim.awareness.setLocalStateField('user', 'victim')
    const presenceBefore = victim.awareness.clientID
    const { replaced, errors } = watch(victim)
    await until(() => replaced.length > 0, 'the fork')
    await victim.whenSynced()
    await until(() => text(writer) === text(victim), 'the writer to converge with the victim')

    expect(victim.status).toBe('synced')
    expect(victim.pending).toBe(0)
    expect(replaced[0]!.doc).toBe(victim.doc)
    expect(replaced[0]!.previous).not.toBe(victim.doc)
    expect(errors.some((error) => error.code === 'clocksTaken')).toBe(true)
    const final = text(victim)
    expect(final).toContain('real edit')
    expect(final).toContain('forged!')
    expect(final).toContain('shared. ')
    expect((await freshRead(relay, 'squatted')).getText('t').toString()).toBe(final)
    expect((await stored(relay, 'squatted')).getText('t').toString()).toBe(final)
    expect(Y.encodeStateVector(victim.doc)).toEqual(Y.encodeStateVector(await freshRead(relay, 'squatted')))
    // Its presence carried over to the new doc's awareness, and the old id is gone.
    expect(victim.awareness.getLocalState()).toMatchObject({ user: 'victim' })
    const observer = makeClient(relay.url).open('squatted')
    await until(
      () => observer.awareness.getStates().get(victim.awareness.clientID)?.user === 'victim',
      "the victim's presence at an observer",
    )
    expect(observer.awareness.getStates().has(presenceBefore)).toBe(false)

    // A reload opens the forked log: the same text, nothing of the old doc's content comes back.
    forget(client)
    await client.destroy()
    const reloaded = makeClient(relay.url, { name }).open('squatted')
    const reloadWatch = watch(reloaded)
    await reloaded.whenSynced()
    expect(text(reloaded)).toBe(final)
    expect(reloadWatch.replaced).toHaveLength(0)
    expect((await stored(relay, 'squatted')).getText('t').toString()).toBe(final)
  })

  it('keeps its map entries and nested content beside the squatter', async () => {
    const relay = await relayOnFixedPort()
    const { name, victimId } = await offlineEdit(relay.url, 'map', (doc) => {
      const map = doc.getMap<unknown>('m')
      map.set('mine', 1)
      const nested = new Y.Map<string>()
      map.set('nested', nested)
      nested.set('deep', 'victim')
      map.delete('mine')
      map.set('kept', 'victim')
    })
    await squat(relay, 'map', victimId, (doc) => {
      doc.getMap('m').set('forged', 'squatter')
      doc.getMap('m').set('kept', 'squatter')
    })

    const victim = makeClient(relay.url, { name }).open('map')
    const { replaced } = watch(victim)
    await until(() => replaced.length > 0, 'the fork')
    await victim.whenSynced()
    const fresh = (await freshRead(relay, 'map')).getMap('m').toJSON()
    expect(victim.doc.getMap('m').toJSON()).toEqual(fresh)
    expect(fresh).toMatchObject({ forged: 'squatter', nested: { deep: 'victim' } })
    expect(fresh).not.toHaveProperty('mine')
    // Both wrote `kept`: one of them wins, the same everywhere.
    expect(['victim', 'squatter']).toContain(fresh.kept)
  })

  it('forks both tabs of an offline pair to the same content, once', async () => {
    const relay = await relayOnFixedPort()
    const { name, victimId } = await offlineEdit(relay.url, 'tabs', (doc) => doc.getText('t').insert(0, 'offline'))
    await squat(relay, 'tabs', victimId, (doc) => doc.getText('t').insert(0, 'forged '))

    // Two tabs of the device, sharing its store and a BroadcastChannel, come online together.
    const tabA = makeClient(relay.url, { name, shareAcrossTabs: true }).open('tabs')
    const tabB = makeClient(relay.url, { name, shareAcrossTabs: true }).open('tabs')
    const watchA = watch(tabA)
    const watchB = watch(tabB)
    await until(() => watchA.replaced.length > 0 && watchB.replaced.length > 0, 'both tabs to fork')
    await tabA.whenSynced()
    await tabB.whenSynced()
    const fresh = (await freshRead(relay, 'tabs')).getText('t').toString()
    await until(() => text(tabA) === fresh && text(tabB) === fresh, 'the tabs to converge')
    expect(fresh.match(/offline/g)).toHaveLength(1)
    expect(fresh).toContain('forged')
  })

  it('hands a fork cut short by a close over to the next handle, which opens the moved edits', async () => {
    const relay = await relayOnFixedPort()
    // The device store, with the fork's replacement of its pending records held back on demand.
    const inner = new MemoryLocalStore()
    let release = (): void => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let merging = false
    const store: LocalStore = {
      load: (doc) => inner.load(doc),
      append: (doc, update, pending) => inner.append(doc, update, pending),
      acknowledge: (doc, ids) => inner.acknowledge(doc, ids),
      compact: (doc, merge) => inner.compact(doc, merge),
      mergePending: async (doc, ids, merge) => {
        merging = true
        await held
        return inner.mergePending(doc, ids, merge)
      },
      remove: (doc) => inner.remove(doc),
      close: () => inner.close(),
    }
    const offline = makeClient(relay.url, { store, connect: false }).open('cut')
    await offline.whenLoaded()
    const victimId = offline.doc.clientID
    offline.doc.getText('t').insert(0, 'offline')
    await offline.close()
    await squat(relay, 'cut', victimId, (doc) => doc.getText('t').insert(0, 'forged '))

    const client = makeClient(relay.url, { store })
    const first = client.open('cut')
    await until(() => merging, 'the fork to replace the pending records')
    // The app closes the document in the middle of the fork, and opens it again at once (a remount).
    void first.close()
    const next = client.open('cut')
    const nextWatch = watch(next)
    release()
    await next.whenSynced()
    const fresh = (await freshRead(relay, 'cut')).getText('t').toString()
    await until(() => text(next) === fresh, 'the next handle to converge')
    expect(fresh).toContain('offline')
    expect(fresh).toContain('forged')
    expect(fresh.match(/offline/g)).toHaveLength(1)
    // It opened the moved edits: nothing of the old doc came back to be refused and forked again.
    expect(nextWatch.replaced).toHaveLength(0)
    expect(nextWatch.errors.map(({ code }) => code)).not.toContain('clocksTaken')
  })

  it('in y-websocket mode, cannot fork (no refused frames) but tells the app the relay refused its edits', async () => {
    const relay = await relayOnFixedPort()
    const { name, victimId } = await offlineEdit(relay.url, 'compat', (doc) => doc.getText('t').insert(0, 'offline'))
    await squat(relay, 'compat', victimId, (doc) => doc.getText('t').insert(0, 'forged '))

    const client = makeClient(relay.url, { name, protocol: 'y-websocket' })
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    client.open('compat')
    await until(() => errors.some((error) => error.code === 'invalidUpdate'), 'the refusal')
    expect(errors.find((error) => error.code === 'invalidUpdate')).toMatchObject({ doc: 'compat', closeCode: 4422 })
  })

  it('tries a device store that fails to load during the fork again, and a reload finds no old edit', async () => {
    const relay = await relayOnFixedPort()
    const inner = new MemoryLocalStore()
    let failLoads = 0
    const store: LocalStore = {
      load: (doc) => (failLoads-- > 0 ? Promise.reject(new Error('injected load failure')) : inner.load(doc)),
      append: (doc, update, pending) => inner.append(doc, update, pending),
      acknowledge: (doc, ids) => inner.acknowledge(doc, ids),
      compact: (doc, merge) => inner.compact(doc, merge),
      mergePending: (doc, ids, merge) => inner.mergePending(doc, ids, merge),
      remove: (doc) => inner.remove(doc),
      // Kept open across the clients of this test, as a device's store outlives a page.
      close: () => Promise.resolve(),
    }
    const offline = makeClient(relay.url, { store, connect: false }).open('flaky')
    await offline.whenLoaded()
    const victimId = offline.doc.clientID
    offline.doc.getText('t').insert(0, 'offline')
    await offline.close()
    await squat(relay, 'flaky', victimId, (doc) => doc.getText('t').insert(0, 'forged '))

    const client = makeClient(relay.url, { store })
    const victim = client.open('flaky')
    await victim.whenLoaded()
    // The next two reads fail: the fork's.
    failLoads = 2
    const { replaced } = watch(victim)
    await until(() => replaced.length > 0, 'the fork')
    await victim.whenSynced()
    const fresh = (await freshRead(relay, 'flaky')).getText('t').toString()
    await until(() => text(victim) === fresh, 'the victim to converge')
    expect(fresh.match(/offline/g)).toHaveLength(1)

    // A reload loads the moved edits only: nothing is refused, nothing forks again.
    forget(client)
    await client.destroy()
    const reloaded = makeClient(relay.url, { store }).open('flaky')
    const reloadWatch = watch(reloaded)
    await reloaded.whenSynced()
    expect(text(reloaded)).toBe(fresh)
    expect(reloadWatch.replaced).toHaveLength(0)
    expect(reloadWatch.errors.map(({ code }) => code)).not.toContain('clocksTaken')
  })
})
