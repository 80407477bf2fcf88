/**
 * The client against the real relay when the relay will not keep an edit:
 * a read-only reader that types. The edit stays pending, the app is told
 * with a typed `refused` error carrying the close code, and the handle never
 * reports `synced` for it (issue 14, items 1 and 2, seen from the app). The
 * victim of a clock squat (item 3) forks instead: client.clocksTaken.test.ts.
 */
import 'fake-indexeddb/auto'
import { closeCodes } from '@concord/protocol'
import { waitFor } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConcordError } from './errors.js'
import { cleanUp, makeClient, relayOnFixedPort, text } from './test/clientHarness.js'

afterEach(cleanUp)

const errorsOf = (emitter: { on(event: 'error', listener: (error: ConcordError) => void): void }) => {
  const errors: ConcordError[] = []
  emitter.on('error', (error) => errors.push(error))
  return errors
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

    await waitFor(() => errors.some((error) => error.code === 'refused'), 'the refused error')
    expect(errors.find((error) => error.code === 'refused')).toMatchObject({ closeCode: closeCodes.forbidden })
    expect(reader.pending).toBeGreaterThan(0)
    expect(reader.status).not.toBe('synced')
    // The writer, and a fresh reader, never see the refused edit.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(synced).toBe(false)
    expect(text(writer)).toBe('by the writer')
  })
})
