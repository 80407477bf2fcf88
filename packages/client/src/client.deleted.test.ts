/**
 * A document deleted on the relay (4404), as the app sees it: the handle
 * says so (`deleted`), stops syncing, drops its pending edits, and its copy
 * on the device is removed (unless the client keeps deleted documents),
 * also on a device that was offline when it was deleted, whose edits never
 * bring the document back.
 */
import 'fake-indexeddb/auto'
import { waitFor } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConcordError } from './errors.js'
import { IndexedDbLocalStore } from './indexedDbLocalStore.js'
import { cleanUp, forget, freshStoreName, makeClient, relayOnFixedPort, text } from './test/clientHarness.js'

afterEach(cleanUp)

/** What the device store named `name` holds of `doc`, in stored updates. */
const storedOnDevice = async (name: string, doc: string): Promise<number> => {
  const store = await IndexedDbLocalStore.open(name)
  try {
    const { snapshot, updates } = await store.load(doc)
    return (snapshot ? 1 : 0) + updates.length
  } finally {
    await store.close()
  }
}

describe('a document deleted on the relay', () => {
  it('is reported (deleted), stops syncing, and leaves no copy on the device', async () => {
    const relay = await relayOnFixedPort()
    const name = freshStoreName()
    const client = makeClient(relay.url, { name })
    const errors: ConcordError[] = []
    client.on('error', (error) => errors.push(error))
    const handle = client.open('doomed')
    handle.doc.getText('t').insert(0, 'soon gone')
    await handle.whenSynced()
    let deletedEvents = 0
    handle.on('deleted', () => deletedEvents++)

    await relay.current.relay.deleteDocument('doomed')
    await waitFor(() => handle.deleted, 'the handle to hear of the deletion')
    expect(deletedEvents).toBe(1)
    expect(errors.map((error) => error.code)).toContain('documentDeleted')
    // An edit made now has nowhere to go, and waiting for it to sync says why.
    handle.doc.getText('t').insert(0, 'late ')
    await expect(handle.whenSynced()).rejects.toMatchObject({ code: 'documentDeleted' })
    expect(handle.pending).toBe(0)
    await handle.close()
    forget(client)
    await client.destroy()
    expect(await storedOnDevice(name, 'doomed')).toBe(0)
  })

  it('is dropped by a device that was offline then, whose edits do not bring it back', async () => {
    const relay = await relayOnFixedPort()
    const writer = makeClient(relay.url).open('doomed')
    writer.doc.getText('t').insert(0, 'original')
    await writer.whenSynced()

    // Another device holds a copy, and keeps editing it offline.
    const name = freshStoreName()
    const online = makeClient(relay.url, { name })
    const copy = online.open('doomed')
    await copy.whenSynced()
    forget(online)
    await online.destroy()
    const offline = makeClient(relay.url, { name, connect: false })
    const draft = offline.open('doomed')
    await draft.whenLoaded()
    draft.doc.getText('t').insert(0, 'offline edit, ')
    forget(offline)
    await offline.destroy()
    expect(await storedOnDevice(name, 'doomed')).toBeGreaterThan(0)

    await relay.current.relay.deleteDocument('doomed')
    const back = makeClient(relay.url, { name })
    const handle = back.open('doomed')
    await waitFor(() => handle.deleted, 'the returning device to hear of the deletion')
    await handle.close()
    forget(back)
    await back.destroy()
    expect(await storedOnDevice(name, 'doomed')).toBe(0)
    await expect(relay.current.store.load('doomed')).rejects.toMatchObject({ code: 'documentDeleted' })
  })

  it('keeps the copy on the device with keepDeletedDocuments', async () => {
    const relay = await relayOnFixedPort()
    const name = freshStoreName()
    const client = makeClient(relay.url, { name, keepDeletedDocuments: true })
    const handle = client.open('archived')
    handle.doc.getText('t').insert(0, 'kept here')
    await handle.whenSynced()
    await relay.current.relay.deleteDocument('archived')
    await waitFor(() => handle.deleted, 'the deletion')
    expect(text(handle)).toBe('kept here')
    await handle.close()
    forget(client)
    await client.destroy()
    expect(await storedOnDevice(name, 'archived')).toBeGreaterThan(0)
  })
})
