/**
 * The client under the lifecycles real apps put it through (close then
 * destroy, reopen at once, tabs that die, pages hidden and restored) and the
 * storage faults real devices have (a failed append, a store that is not
 * there, a relay store that fails once), each against a real relay. Issue 13
 * lists them; each test here failed on the client before the fix.
 */
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ControlledStore, waitFor } from '@concord/relay/testing'
import { warnBeforeUnload } from './beforeUnload.js'
import type { ConcordError } from './errors.js'
import { IndexedDbLocalStore } from './indexedDbLocalStore.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import {
  cleanUp,
  forget,
  freshStoreName,
  makeClient,
  relayNotYetUp,
  relayOnFixedPort,
  text,
  trackedWebSocket,
} from './test/clientHarness.js'
import { FaultInjectingLocalStore, storeFault } from './test/faultInjectingLocalStore.js'

afterEach(cleanUp)

/** Resolves with what `promise` gives, or rejects after `ms`. */
const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  ])

const errorsOf = (emitter: { on(event: 'error', listener: (error: ConcordError) => void): void }) => {
  const errors: ConcordError[] = []
  emitter.on('error', (error) => errors.push(error))
  return errors
}

/** What a fresh reader sees of `doc` on the relay at `url`. */
const readOnRelay = async (url: string, doc: string): Promise<string> => {
  const reader = makeClient(url).open(doc)
  await within(reader.whenSynced(), 5_000, 'the reader to sync')
  return text(reader)
}

describe('close() then destroy() (issue 13, bug 1)', () => {
  it('keeps every edit whose store append was still queued when the handle closed and the client was destroyed', async () => {
    const relay = await relayNotYetUp()
    const name = freshStoreName()
    const store = new FaultInjectingLocalStore(await IndexedDbLocalStore.open(name))
    const client = makeClient(relay.url, { store })
    forget(client)
    const handle = client.open('draft')
    await handle.whenLoaded()
    store.stall('append')
    handle.doc.getText('t').insert(0, 'typed, then closed')
    handle.close()
    const destroyed = client.destroy()
    await store.whenStalled('append')
    store.release()
    await destroyed

    const reopened = makeClient(relay.url, { name }).open('draft')
    await reopened.whenLoaded()
    expect(text(reopened)).toBe('typed, then closed')
    expect(reopened.pending).toBe(1)
  })
})

describe('destroy() with edits nothing else has', () => {
  it('rejects with notSaved, and says so on the error event, when neither the store nor the relay took an edit', async () => {
    const relay = await relayNotYetUp()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const client = makeClient(relay.url, { store })
    forget(client)
    const errors = errorsOf(client)
    const handle = client.open('doomed')
    await handle.whenLoaded()
    store.fail('append', { error: storeFault('QuotaExceededError'), times: 'untilCleared' })
    handle.doc.getText('t').insert(0, 'nowhere to go')
    await waitFor(() => handle.storage === 'failing', 'the failing storage state')
    await expect(client.destroy()).rejects.toMatchObject({ name: 'ConcordError', code: 'notSaved' })
    expect(errors.map(({ code }) => code)).toContain('notSaved')
  })
})

describe('a failed local append (issue 13, bug 2)', () => {
  it('keeps the edit, sends it and the edits built on it, and resolves whenSynced only once the relay has them all', async () => {
    const relay = await relayOnFixedPort()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const client = makeClient(relay.url, { store })
    const errors = errorsOf(client)
    const handle = client.open('quota')
    await handle.whenSynced()
    store.fail('append', { error: storeFault('QuotaExceededError') })
    handle.doc.getText('t').insert(0, 'a')
    handle.doc.getText('t').insert(1, 'b')
    await within(handle.whenSynced(), 5_000, 'whenSynced')
    expect(await readOnRelay(relay.url, 'quota')).toBe('ab')
    expect(errors.some((error) => error.code === 'store' && error.doc === 'quota')).toBe(true)
  })

  it('retries the failed edit into the store, and says meanwhile that changes are not saved on this device', async () => {
    const relay = await relayOnFixedPort()
    const inner = new MemoryLocalStore()
    const store = new FaultInjectingLocalStore(inner)
    const handle = makeClient(relay.url, { store }).open('retry')
    await handle.whenSynced()
    store.fail('append', { error: storeFault('AbortError'), times: 'untilCleared' })
    const states: string[] = []
    handle.on('storage', (state) => states.push(state))
    handle.doc.getText('t').insert(0, 'kept in memory')
    await waitFor(() => handle.storage === 'failing', 'the failing storage state')
    expect(handle.unsaved).toBe(1)
    await within(handle.whenSynced(), 5_000, 'whenSynced while the device store fails')
    store.clear()
    await waitFor(() => handle.storage === 'ok', 'the store to take the edit', 5_000)
    expect(states).toEqual(['failing', 'ok'])
    expect(handle.unsaved).toBe(0)
    const stored = new Y.Doc()
    const { snapshot, updates } = await inner.load('retry')
    if (snapshot) Y.applyUpdate(stored, snapshot)
    for (const { update } of updates) Y.applyUpdate(stored, update)
    expect(stored.getText('t').toString()).toBe('kept in memory')
  })

  it('sends the step 2 of a later connection though an append failed while offline', async () => {
    const relay = await relayNotYetUp()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const handle = makeClient(relay.url, { store }).open('offline-fail')
    await handle.whenLoaded()
    store.fail('append', { error: storeFault('InvalidStateError'), times: 'untilCleared' })
    handle.doc.getText('t').insert(0, 'offline, unsaved')
    await waitFor(() => handle.storage === 'failing', 'the failing storage state')
    await relay.restart()
    await within(handle.whenSynced(), 5_000, 'whenSynced after the relay came up')
    expect(await readOnRelay(relay.url, 'offline-fail')).toBe('offline, unsaved')
  })
})

describe('a device store that cannot be read at first', () => {
  it('syncs without it, keeps trying to read it, and then sends the pending edits it held', async () => {
    const relay = await relayNotYetUp()
    const name = freshStoreName()
    const offline = makeClient(relay.url, { name })
    forget(offline)
    const written = offline.open('late')
    await written.whenLoaded()
    written.doc.getText('t').insert(0, 'typed offline last time')
    await offline.destroy()

    await relay.restart()
    const store = new FaultInjectingLocalStore(await IndexedDbLocalStore.open(name))
    store.fail('load', { error: storeFault('UnknownError'), times: 4 })
    const client = makeClient(relay.url, { name, store })
    const errors = errorsOf(client)
    const handle = client.open('late')
    await within(handle.whenLoaded(), 5_000, 'whenLoaded')
    expect(text(handle)).toBe('')
    expect(handle.storage).toBe('failing')
    expect(errors.some((error) => error.code === 'store')).toBe(true)
    await waitFor(() => text(handle) === 'typed offline last time', 'the stored state, read at last', 5_000)
    await within(handle.whenSynced(), 5_000, 'whenSynced')
    expect(handle.storage).toBe('ok')
    expect(await readOnRelay(relay.url, 'late')).toBe('typed offline last time')
  })
})

describe('a document the relay cannot load (issue 13, bug 3)', () => {
  it('is reopened by itself with backoff while the socket lives; the other documents are not touched', async () => {
    const relayStore = new ControlledStore()
    const relay = await relayOnFixedPort({ store: relayStore })
    const { WebSocket, sockets } = trackedWebSocket()
    const client = makeClient(relay.url, { WebSocket: WebSocket as never })
    const errors = errorsOf(client)
    const steady = client.open('steady')
    await steady.whenSynced()
    relayStore.failLoads = true
    const flaky = client.open('flaky')
    flaky.doc.getText('t').insert(0, 'written while the relay store failed')
    await waitFor(() => errors.some((error) => error.code === 'documentUnavailable'), 'the 4503 error')
    relayStore.failLoads = false
    steady.doc.getText('t').insert(0, 'unaffected')
    await within(Promise.all([flaky.whenSynced(), steady.whenSynced()]), 5_000, 'both documents to sync')
    expect(sockets).toHaveLength(1)
    expect(await readOnRelay(relay.url, 'flaky')).toBe('written while the relay store failed')
  })
})

describe('close, then reopen at once (issue 13, bug 4)', () => {
  it('sends nothing from the closed handle, and the reopened one holds every edit, also one still being stored', async () => {
    const relay = await relayOnFixedPort()
    const { WebSocket, sockets } = trackedWebSocket()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const client = makeClient(relay.url, { store, WebSocket: WebSocket as never })
    const errors = errorsOf(client)
    const first = client.open('strict-mode')
    await first.whenSynced()
    first.doc.getText('t').insert(0, 'stored. ')
    await first.whenSynced()
    store.stall('append')
    first.doc.getText('t').insert(8, 'still being stored.')
    first.close()
    const second = client.open('strict-mode')
    expect(second).not.toBe(first)
    // It shows at once what the closed one showed, before any write or load is done.
    expect(text(second)).toBe('stored. still being stored.')
    await store.whenStalled('append')
    store.release()
    await within(second.whenSynced(), 5_000, 'the reopened handle to sync')
    expect(text(second)).toBe('stored. still being stored.')
    expect(await readOnRelay(relay.url, 'strict-mode')).toBe('stored. still being stored.')
    expect(sockets).toHaveLength(1)
    expect(errors).toEqual([])
  })

  it('survives mount, unmount, mount many times over, with edits in between, on one socket', async () => {
    const relay = await relayOnFixedPort()
    const { WebSocket, sockets } = trackedWebSocket()
    const client = makeClient(relay.url, { WebSocket: WebSocket as never })
    const errors = errorsOf(client)
    let handle = client.open('remount')
    for (let i = 0; i < 10; i++) {
      handle.doc.getText('t').insert(handle.doc.getText('t').length, String(i))
      handle.close()
      handle = client.open('remount')
    }
    await within(handle.whenSynced(), 5_000, 'the last handle to sync')
    // Each handle starts from the doc of the one closed before it, so each edit lands at the end.
    expect(text(handle)).toBe('0123456789')
    expect(await readOnRelay(relay.url, 'remount')).toBe('0123456789')
    expect(sockets).toHaveLength(1)
    expect(errors).toEqual([])
  })
})

describe('an edit from another tab (issue 13, bug 5)', () => {
  it('is stored by the tab that applied it, so it survives the death of the tab that made it', async () => {
    const relay = await relayNotYetUp()
    const name = freshStoreName()
    // Tab A never gets to store anything: it dies right after typing.
    const dyingStore = new FaultInjectingLocalStore(await IndexedDbLocalStore.open(name))
    dyingStore.stall('append')
    const tabA = makeClient(relay.url, { name, store: dyingStore }).open('tabs')
    const tabBClient = makeClient(relay.url, { name })
    const tabB = tabBClient.open('tabs')
    await Promise.all([tabA.whenLoaded(), tabB.whenLoaded()])
    tabA.doc.getText('t').insert(0, 'typed in tab A')
    await waitFor(() => text(tabB) === 'typed in tab A', 'tab B to see it')
    forget(tabBClient)
    await tabBClient.destroy()

    const afterCrash = makeClient(relay.url, { name }).open('tabs')
    await afterCrash.whenLoaded()
    expect(text(afterCrash)).toBe('typed in tab A')
    dyingStore.fail('append', { times: 'untilCleared' }).release()
    // Once the relay is up, it gets there too, though tab A never sent it.
    await relay.restart()
    await within(afterCrash.whenSynced(), 5_000, 'whenSynced')
    expect(await readOnRelay(relay.url, 'tabs')).toBe('typed in tab A')
  })
})

describe('appends and compaction (issue 13, bug 6)', () => {
  it('hands each edit to the store in the turn it is made, even while a compaction or merge runs', async () => {
    const relay = await relayNotYetUp()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    // Updates from elsewhere, stored before: a compaction is due at the first append (pending edits
    // alone never make one due, since it would merge none of them).
    for (let i = 0; i < 150; i++) {
      const other = new Y.Doc()
      other.getText('other').insert(0, String(i))
      await store.inner.append('fast', Y.encodeStateAsUpdate(other), false)
    }
    const handle = makeClient(relay.url, { store }).open('fast')
    await handle.whenLoaded()
    store.stall('compact')
    const typed = handle.doc.getText('t')
    const type = (letter: string) => {
      typed.insert(typed.length, letter)
      expect(store.calls.at(-1)).toEqual({ operation: 'append', doc: 'fast' })
    }
    const storedCount = async (count: number) => {
      while ((await store.inner.load('fast')).updates.length < count) await new Promise((r) => setTimeout(r, 5))
    }
    for (let i = 0; i < 150; i++) type('x')
    await store.whenStalled('compact')
    type('!')
    await within(storedCount(150 + 151), 2_000, 'the append made while a compaction runs')
    store.stall('mergePending')
    store.release('compact')
    await store.whenStalled('mergePending')
    type('?')
    // The compaction merged the 150 from elsewhere; the 151 pending edits stay apart until the merge.
    await within(storedCount(152), 2_000, 'the append made while a merge runs')
    store.release()
  })
})

describe('presence after a back/forward-cache restore (issue 13, bug 7)', () => {
  it('announces presence again on pageshow (persisted) after pagehide cleared it', async () => {
    const relay = await relayOnFixedPort()
    const page = new EventTarget()
    const scope = globalThis as unknown as Record<string, unknown>
    const saved = { add: scope.addEventListener, remove: scope.removeEventListener }
    scope.addEventListener = page.addEventListener.bind(page)
    scope.removeEventListener = page.removeEventListener.bind(page)
    try {
      const alice = makeClient(relay.url).open('bfcache')
      scope.addEventListener = saved.add
      scope.removeEventListener = saved.remove
      const bob = makeClient(relay.url).open('bfcache')
      await Promise.all([alice.whenSynced(), bob.whenSynced()])
      alice.awareness.setLocalStateField('user', { name: 'Alice' })
      const bobSeesAlice = () => bob.awareness.getStates().get(alice.doc.clientID)?.user?.name === 'Alice'
      await waitFor(bobSeesAlice, "Alice's presence at Bob")
      page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }))
      await waitFor(() => !bobSeesAlice(), "Alice's presence gone at Bob")
      page.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }))
      await waitFor(bobSeesAlice, "Alice's presence back at Bob", 3_000)
    } finally {
      scope.addEventListener = saved.add
      scope.removeEventListener = saved.remove
    }
  })
})

describe("an app's observer that throws (issue 21, item 1)", () => {
  it('does not stop the sync when it throws on an update from the relay', async () => {
    const relay = await relayOnFixedPort()
    const alice = makeClient(relay.url).open('hostile')
    alice.doc.getText('t').insert(0, 'boom')
    await alice.whenSynced()
    const bob = makeClient(relay.url).open('hostile')
    const errors = errorsOf(bob)
    // It throws on every update that comes from elsewhere, as a render of content it cannot read would.
    bob.doc.getText('t').observe((_event, transaction) => {
      if (!transaction.local) throw new Error('the app cannot render this')
    })
    await within(bob.whenSynced(), 5_000, 'whenSynced despite the observer')
    expect(text(bob)).toBe('boom')
    expect(errors.some((error) => error.code === 'observer')).toBe(true)
    alice.doc.getText('t').insert(4, ' and more')
    await waitFor(() => text(bob) === 'boom and more', 'later updates to arrive')
    bob.doc.getText('t').insert(0, '> ')
    await within(bob.whenSynced(), 5_000, "bob's own edit to sync")
    await waitFor(() => text(alice) === '> boom and more', 'alice to see it')
  })

  it('still loads, and opens on the relay, when it throws as the stored state is applied', async () => {
    const relay = await relayOnFixedPort()
    const name = freshStoreName()
    const first = makeClient(relay.url, { name })
    const written = first.open('hostile-load')
    written.doc.getText('t').insert(0, 'stored')
    await written.whenSynced()
    forget(first)
    await first.destroy()

    const client = makeClient(relay.url, { name })
    const handle = client.open('hostile-load')
    const errors = errorsOf(handle)
    handle.doc.getText('t').observe((_event, transaction) => {
      if (!transaction.local) throw new Error('the app cannot render this')
    })
    await within(handle.whenLoaded(), 5_000, 'whenLoaded despite the observer')
    expect(text(handle)).toBe('stored')
    expect(errors.some((error) => error.code === 'observer')).toBe(true)
    handle.doc.getText('t').insert(6, ' and synced')
    await within(handle.whenSynced(), 5_000, 'whenSynced')
    expect(await readOnRelay(relay.url, 'hostile-load')).toBe('stored and synced')
  })
})

describe('no IndexedDB (private modes, blocked storage)', () => {
  it('reports a typed error at open, and the document works in memory, synced', async () => {
    const relay = await relayOnFixedPort()
    const scope = globalThis as unknown as { indexedDB: IDBFactory }
    const real = scope.indexedDB
    scope.indexedDB = {
      open: () => {
        throw new DOMException('access to storage is not allowed', 'SecurityError')
      },
    } as unknown as IDBFactory
    try {
      const client = makeClient(relay.url)
      const errors = errorsOf(client)
      const handle = client.open('in-memory')
      await within(handle.whenLoaded(), 5_000, 'whenLoaded')
      expect(handle.storage).toBe('unavailable')
      expect(errors.some((error) => error.code === 'storeUnavailable')).toBe(true)
      handle.doc.getText('t').insert(0, 'only in memory here')
      await within(handle.whenSynced(), 5_000, 'whenSynced')
      expect(await readOnRelay(relay.url, 'in-memory')).toBe('only in memory here')
    } finally {
      scope.indexedDB = real
    }
  })
})

describe('the opt-in beforeunload warning', () => {
  it('warns while an edit is not yet stored or not yet on the relay, and stops once it is', async () => {
    const relay = await relayNotYetUp()
    const store = new FaultInjectingLocalStore(new MemoryLocalStore())
    const client = makeClient(relay.url, { store })
    const page = new EventTarget()
    const stop = warnBeforeUnload(client, page as never)
    const leave = () => {
      const event = new Event('beforeunload', { cancelable: true })
      page.dispatchEvent(event)
      return event.defaultPrevented
    }
    const handle = client.open('leaving')
    await handle.whenLoaded()
    expect(leave()).toBe(false)
    store.stall('append')
    handle.doc.getText('t').insert(0, 'not stored yet')
    expect(leave()).toBe(true)
    store.release()
    await waitFor(() => !handle.unsynced || handle.pending > 0, 'the append')
    // Stored, not yet on the relay: still worth a warning.
    expect(leave()).toBe(true)
    await relay.restart()
    await within(handle.whenSynced(), 5_000, 'whenSynced')
    expect(leave()).toBe(false)
    stop()
    handle.doc.getText('t').insert(0, '> ')
    expect(leave()).toBe(false)
  })
})
