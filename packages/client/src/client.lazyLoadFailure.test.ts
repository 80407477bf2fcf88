/**
 * What the client does when code it loads with `import()` on first use cannot be loaded, as when a
 * bundler's chunk is gone from the server after a deploy: the y-websocket wire of
 * `protocol: 'y-websocket'`, and version history for the handle's own calls. The two modules are
 * replaced by ones that fail to load (vitest's module mock: a chunk that cannot be fetched has no
 * public interface to wrap); everything else is real, a relay on a loopback port included.
 */
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { waitFor } from '@concord/relay/testing'
import type { ConcordError } from './errors.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import { cleanUp, makeClient, relayOnFixedPort } from './test/clientHarness.js'

// Hoisted above the imports by vitest, so the factories name nothing of this file.
vi.mock('./yWebsocket.js', () => {
  throw new Error('Failed to fetch dynamically imported module')
})
vi.mock('./history.js', () => {
  throw new Error('Failed to fetch dynamically imported module')
})

afterEach(cleanUp)

describe('code loaded on first use that cannot be loaded', () => {
  it("protocol: 'y-websocket': a moduleUnavailable error per document, offline, edits kept", async () => {
    const relay = await relayOnFixedPort()
    const store = new MemoryLocalStore()
    const client = makeClient(relay.url, { protocol: 'y-websocket', store })
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    const handle = client.open('notes')
    expect(handle.status).toBe('connecting')
    handle.doc.getText('t').insert(0, 'kept on the device')
    await waitFor(() => errors.length === 1 && handle.status === 'offline', 'the failure to be reported')
    expect(errors[0]).toMatchObject({ name: 'ConcordError', code: 'moduleUnavailable', doc: 'notes' })
    expect(errors[0]!.cause).toBeInstanceOf(Error)
    expect(client.status).toBe('offline')
    await waitFor(() => handle.pending === 1 && handle.unsaved === 0, 'the edit stored and pending')
    expect((await store.load('notes')).updates.map(({ pending }) => pending)).toEqual([true])
    // Another document tries the load again, and is told too.
    client.open('other')
    await waitFor(() => errors.length === 2, 'the second document to be told')
    expect(errors[1]).toMatchObject({ code: 'moduleUnavailable', doc: 'other' })
  })

  it("the handle's history calls reject with moduleUnavailable", async () => {
    const relay = await relayOnFixedPort()
    const handle = makeClient(relay.url).open('notes')
    await handle.whenSynced()
    // One after the other: each call tries the load again, as a failed load is not kept.
    const calls = [
      () => handle.saveVersion('v'),
      () => handle.versions(),
      () => handle.version('some-id'),
      () => handle.restore('some-id'),
    ]
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject({ name: 'ConcordError', code: 'moduleUnavailable', doc: 'notes' })
    }
    expect(await relay.current.relay.listVersions('notes')).toEqual([])
  })
})
