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
import { waitFor } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocHandle } from './docHandle.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import type { ConcordError } from './errors.js'
import { cleanUp, forget, freshStoreName, makeClient, relayOnFixedPort, text } from './test/clientHarness.js'
import { freshRead, KeptOpenStore, offlineEdit, squat, squattedDevice, stored } from './test/clockSquat.js'
import { FaultInjectingLocalStore } from './test/faultInjectingLocalStore.js'

afterEach(cleanUp)

const watch = (handle: DocHandle) => {
  const replaced: Array<{ doc: Y.Doc; previous: Y.Doc }> = []
  const errors: ConcordError[] = []
  handle.on('replaced', (doc, previous) => replaced.push({ doc, previous }))
  handle.on('error', (error) => errors.push(error))
  return { replaced, errors }
}

/** Both tabs forked, synced and converged with the relay, which holds the offline text once. */
const bothForkedOnce = async (
  relay: Parameters<typeof freshRead>[0],
  doc: string,
  ...tabs: Array<[DocHandle, ReturnType<typeof watch>]>
): Promise<void> => {
  await waitFor(() => tabs.every(([, watched]) => watched.replaced.length > 0), 'both tabs to fork')
  for (const [tab] of tabs) await tab.whenSynced()
  const fresh = (await freshRead(relay, doc)).getText('t').toString()
  await waitFor(() => tabs.every(([tab]) => text(tab) === fresh), 'the tabs to converge')
  expect(fresh.match(/offline/g)).toHaveLength(1)
  expect(fresh).toContain('forged')
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
    let seenOffline = ''
    const { victimId } = await offlineEdit(
      relay.url,
      'squatted',
      (doc) => {
        seenOffline = doc.getText('t').toString()
        doc.getText('t').insert(doc.getText('t').length, 'real edit')
      },
      { name },
    )
    expect(seenOffline).toBe('shared. ')

    // The squatter takes those clocks first; the writer builds on its content.
    await squat(relay, 'squatted', victimId, (doc) => doc.getText('t').insert(0, 'forged '))
    await waitFor(() => text(writer).includes('forged'), 'the squat at the writer')
    writer.doc.getText('t').insert(text(writer).indexOf('forged') + 'forged'.length, '!')
    await writer.whenSynced()

    const client = makeClient(relay.url, { name })
    const victim = client.open('squatted')
    victim.awareness.setLocalStateField('user', 'victim')
    const presenceBefore = victim.awareness.clientID
    const { replaced, errors } = watch(victim)
    await waitFor(() => replaced.length > 0, 'the fork')
    await victim.whenSynced()
    await waitFor(() => text(writer) === text(victim), 'the writer to converge with the victim')

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
    await waitFor(
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
    await waitFor(() => replaced.length > 0, 'the fork')
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
    const { name } = await squattedDevice(relay, 'tabs')

    // Two tabs of the device, sharing its store and a BroadcastChannel, come online together.
    const tabA = makeClient(relay.url, { name, shareAcrossTabs: true }).open('tabs')
    const tabB = makeClient(relay.url, { name, shareAcrossTabs: true }).open('tabs')
    const watchA = watch(tabA)
    const watchB = watch(tabB)
    await bothForkedOnce(relay, 'tabs', [tabA, watchA], [tabB, watchB])
  })

  it("forks a tab that opens in the middle of the other tab's fork to the same content, once", async () => {
    const relay = await relayOnFixedPort()
    const { store } = await squattedDevice(relay, 'midway', { store: new KeptOpenStore(new MemoryLocalStore()) })
    const name = freshStoreName()
    // The first tab forks, and is held after it stored its moved edits, before they replace the old ones.
    store.stall('mergePending')
    const tabA = makeClient(relay.url, { store, name, shareAcrossTabs: true }).open('midway')
    const watchA = watch(tabA)
    await store.whenStalled('mergePending')
    // A second tab opens now: the store holds the old edits and the moved ones, and it forks from both.
    const tabB = makeClient(relay.url, { store, name, shareAcrossTabs: true }).open('midway')
    const watchB = watch(tabB)
    await store.whenStalled('mergePending', 2)
    store.release('mergePending')
    await bothForkedOnce(relay, 'midway', [tabA, watchA], [tabB, watchB])
  })

  it('hands a fork cut short by a close over to the next handle, which opens the moved edits', async () => {
    const relay = await relayOnFixedPort()
    // The device store, with the fork's replacement of its pending records held back until released.
    const { store } = await squattedDevice(relay, 'cut', {
      store: new FaultInjectingLocalStore(new MemoryLocalStore()),
    })
    store.stall('mergePending')
    const client = makeClient(relay.url, { store })
    const first = client.open('cut')
    await store.whenStalled('mergePending')
    // The app closes the document in the middle of the fork, and opens it again at once (a remount).
    void first.close()
    const next = client.open('cut')
    const nextWatch = watch(next)
    store.release('mergePending')
    await next.whenSynced()
    const fresh = (await freshRead(relay, 'cut')).getText('t').toString()
    await waitFor(() => text(next) === fresh, 'the next handle to converge')
    expect(fresh).toContain('offline')
    expect(fresh).toContain('forged')
    expect(fresh.match(/offline/g)).toHaveLength(1)
    // It opened the moved edits: nothing of the old doc came back to be refused and forked again.
    expect(nextWatch.replaced).toHaveLength(0)
    expect(nextWatch.errors.map(({ code }) => code)).not.toContain('clocksTaken')
  })

  it('in y-websocket mode, cannot fork (no refused frames) but tells the app the relay refused its edits', async () => {
    const relay = await relayOnFixedPort()
    const { name } = await squattedDevice(relay, 'compat')

    const client = makeClient(relay.url, { name, protocol: 'y-websocket' })
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    client.open('compat')
    await waitFor(() => errors.some((error) => error.code === 'invalidUpdate'), 'the refusal')
    expect(errors.find((error) => error.code === 'invalidUpdate')).toMatchObject({ doc: 'compat', closeCode: 4422 })
  })

  it('tries a device store that fails to load during the fork again, and a reload finds no old edit', async () => {
    const relay = await relayOnFixedPort()
    const { store } = await squattedDevice(relay, 'flaky', { store: new KeptOpenStore(new MemoryLocalStore()) })
    const client = makeClient(relay.url, { store })
    const victim = client.open('flaky')
    await victim.whenLoaded()
    // The next two reads fail: the fork's.
    store.fail('load', { error: new Error('injected load failure'), times: 2 })
    const { replaced } = watch(victim)
    await waitFor(() => replaced.length > 0, 'the fork')
    await victim.whenSynced()
    const fresh = (await freshRead(relay, 'flaky')).getText('t').toString()
    await waitFor(() => text(victim) === fresh, 'the victim to converge')
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
