/**
 * The client against the real relay when the relay will not keep an edit:
 * a read-only reader that types, and a victim whose next clocks another
 * writer squatted. Either way the edit stays pending, the app is told with
 * a typed `refused` error carrying the close code, and the handle never
 * reports `synced` for it (issue 14, items 1 to 3, seen from the app).
 */
import 'fake-indexeddb/auto'
import { closeCodes } from '@concord/protocol'
import { NativeTestClient } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ConcordError } from './errors.js'
import { cleanUp, forget, freshStoreName, makeClient, relayOnFixedPort, text } from './test/clientHarness.js'

afterEach(cleanUp)

const errorsOf = (emitter: { on(event: 'error', listener: (error: ConcordError) => void): void }) => {
  const errors: ConcordError[] = []
  emitter.on('error', (error) => errors.push(error))
  return errors
}

/** Waits for `condition`, for at most `ms`. */
const until = async (condition: () => boolean, what: string, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('edits the relay refuses', () => {
  it("keeps a read-only reader's edits pending and tells the app (refused, 4403), never synced", async () => {
    const relay = await relayOnFixedPort({
      authenticate: (_request, _doc, token) => ({ access: token === 'writer' ? 'write' : 'read' }),
    })
    const writer = makeClient(relay.url, { auth: 'writer' }).open('shared')
    writer.doc.getText('t').insert(0, 'by the writer')
    await writer.whenSynced()

    const client = makeClient(relay.url, { auth: 'reader' })
    const errors = errorsOf(client)
    const reader = client.open('shared')
    await reader.whenSynced()
    expect(text(reader)).toBe('by the writer')
    let synced = false
    reader.doc.getText('t').insert(0, 'not kept: ')
    void reader
      .whenSynced()
      .then(() => (synced = true))
      .catch(() => {})

    await until(() => errors.some((error) => error.code === 'refused'), 'the refused error')
    expect(errors.find((error) => error.code === 'refused')).toMatchObject({ closeCode: closeCodes.forbidden })
    expect(reader.pending).toBeGreaterThan(0)
    expect(reader.status).not.toBe('synced')
    // The writer, and a fresh reader, never see the refused edit.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(synced).toBe(false)
    expect(text(writer)).toBe('by the writer')
  })

  it('refuses (4422) an offline edit whose clocks another writer squatted meanwhile, and the handle says so', async () => {
    const relay = await relayOnFixedPort()
    const name = freshStoreName()
    // Typed offline: stored on the device, pending, under this Y.Doc's client id and next clocks.
    const offline = makeClient(relay.url, { name, connect: false })
    const draft = offline.open('squatted')
    await draft.whenLoaded()
    const before = Y.encodeStateVector(draft.doc)
    const victimId = draft.doc.clientID
    draft.doc.getText('t').insert(0, 'real edit')
    forget(offline)
    await offline.destroy()

    // Someone who read that client id (it is in every state vector) writes under those clocks first.
    const squatter = new Y.Doc()
    squatter.clientID = victimId
    squatter.getText('t').insert(0, 'forged')
    const forger = await NativeTestClient.connect(relay.url)
    const forged = forger.open('squatted')
    await forger.whenSynced('squatted')
    Y.applyUpdate(forged.doc, Y.encodeStateAsUpdate(squatter, before))
    await forger.whenAcked('squatted')
    forger.close()

    // The device comes back online and sends its pending edit.
    const client = makeClient(relay.url, { name })
    const errors = errorsOf(client)
    const victim = client.open('squatted')
    let synced = false
    void victim
      .whenSynced()
      .then(() => (synced = true))
      .catch(() => {})
    await until(() => errors.some((error) => error.code === 'refused'), 'the refused error')
    expect(errors.find((error) => error.code === 'refused')).toMatchObject({ closeCode: closeCodes.invalidUpdate })
    expect(victim.pending).toBeGreaterThan(0)
    expect(victim.status).not.toBe('synced')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(synced).toBe(false)
  })
})
