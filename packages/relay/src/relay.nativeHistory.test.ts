/**
 * Version history over the native protocol (concord.v3's request, answer and failed frames) on a
 * real relay with SQLite: rights, the errors of the HTTP API, and v2 connections left as they were.
 */
import type { IncomingMessage } from 'node:http'
import { closeCodes, nativeSubprotocolV3, type NativeFrame, type VersionRequest } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import type { Authenticate, AuthResult } from './auth.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start } = testRelays()
const clients: NativeTestClient[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

/** Tokens `read` and `write` grant that access to every document. */
const tokenAuth: Authenticate = (_request: IncomingMessage, _doc, token): AuthResult =>
  token === 'read' || token === 'write'
    ? { access: token, subject: `${token}-user` }
    : { denied: 'unauthenticated', reason: 'no token' }

const connectV3 = async (url: string, token?: string): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(url, nativeSubprotocolV3)
  clients.push(client)
  if (token) client.send({ type: 'auth', doc: '', token })
  return client
}

let nextId = 0
/** Sends `request` for `doc` and resolves with the relay's answer or failure to it. */
const ask = async (
  client: NativeTestClient,
  doc: string,
  request: VersionRequest,
): Promise<Extract<NativeFrame, { type: 'answer' | 'failed' }>> => {
  const id = ++nextId
  client.send({ type: 'request', doc, id, request })
  let answer: NativeFrame | undefined
  await waitFor(() => {
    answer = client.received.find((frame) => (frame.type === 'answer' || frame.type === 'failed') && frame.id === id)
    return answer !== undefined
  }, `the answer to request ${id}`)
  return answer as Extract<NativeFrame, { type: 'answer' | 'failed' }>
}

const textOf = (state: Uint8Array): string => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return doc.getText('body').toString()
}

describe('history requests over concord.v3', () => {
  it('the relay selects concord.v3 when offered before concord.v2, and concord.v2 when offered alone', async () => {
    const test = await start()
    const both = new WebSocket(test.url, ['concord.v3', 'concord.v2'])
    await new Promise((resolve) => both.once('open', resolve))
    expect(both.protocol).toBe('concord.v3')
    both.close()
    const v2 = await NativeTestClient.connect(test.url)
    clients.push(v2)
    expect(v2.ws.protocol).toBe('concord.v2')
  })

  it('save, list, load and restore round trip; the restore reaches the document like an edit', async () => {
    const test = await start()
    const client = await connectV3(test.url)
    const entry = client.open('notes')
    // Asked at once after the open: the request waits for the authorization.
    const saved = await ask(client, 'notes', { op: 'saveVersion', label: 'empty' })
    expect(saved).toMatchObject({ type: 'answer', versions: [{ label: 'empty' }] })
    await client.whenSynced('notes')
    entry.doc.getText('body').insert(0, 'v1')
    await client.whenAcked('notes')
    const v1 = await ask(client, 'notes', { op: 'saveVersion', label: 'v1' })
    if (v1.type !== 'answer') throw new Error(v1.message)
    entry.doc.getText('body').insert(2, ' and more')
    await client.whenAcked('notes')

    const listed = await ask(client, 'notes', { op: 'listVersions', limit: 10 })
    if (listed.type !== 'answer') throw new Error(listed.message)
    expect(listed.versions.map((version) => version.label)).toEqual(['v1', 'empty'])
    const page2 = await ask(client, 'notes', { op: 'listVersions', before: v1.versions[0]!.id, limit: 10 })
    expect(page2).toMatchObject({ versions: [{ label: 'empty' }] })

    const loaded = await ask(client, 'notes', { op: 'loadVersion', version: v1.versions[0]!.id })
    if (loaded.type !== 'answer') throw new Error(loaded.message)
    expect(textOf(loaded.state)).toBe('v1')
    expect(loaded.versions[0]).toEqual(v1.versions[0])

    const restored = await ask(client, 'notes', { op: 'restoreVersion', version: v1.versions[0]!.id, kinds: [] })
    expect(restored).toMatchObject({
      type: 'answer',
      versions: [{ restoredFrom: v1.versions[0]!.id, label: `restored from ${v1.versions[0]!.id}` }],
    })
    await waitFor(() => entry.doc.getText('body').toString() === 'v1', 'the restore to reach the client')
  })

  it('a read-only token lists and loads, but its save and restore fail with 4403 and change nothing', async () => {
    const test = await start({ authenticate: tokenAuth })
    const writer = await connectV3(test.url, 'write')
    writer.open('notes').doc.getText('body').insert(0, 'kept')
    await writer.whenAcked('notes')
    const v1 = await ask(writer, 'notes', { op: 'saveVersion', label: 'v1' })
    if (v1.type !== 'answer') throw new Error(v1.message)
    const reader = await connectV3(test.url, 'read')
    reader.open('notes')
    const id = v1.versions[0]!.id
    expect(await ask(reader, 'notes', { op: 'saveVersion', label: 'x' })).toMatchObject({
      type: 'failed',
      code: closeCodes.forbidden,
      error: 'forbidden',
    })
    expect(await ask(reader, 'notes', { op: 'restoreVersion', version: id, kinds: [] })).toMatchObject({
      type: 'failed',
      code: closeCodes.forbidden,
    })
    expect(await ask(reader, 'notes', { op: 'loadVersion', version: id })).toMatchObject({ type: 'answer' })
    expect((await test.relay.listVersions('notes')).map((version) => version.label)).toEqual(['v1'])
  })

  it('an unknown id and another document’s id fail with versionNotFound (4404)', async () => {
    const test = await start()
    const client = await connectV3(test.url)
    client.open('a')
    client.open('b')
    const ofB = await ask(client, 'b', { op: 'saveVersion', label: 'b1' })
    if (ofB.type !== 'answer') throw new Error(ofB.message)
    for (const version of ['nope', ofB.versions[0]!.id]) {
      expect(await ask(client, 'a', { op: 'loadVersion', version })).toMatchObject({
        type: 'failed',
        code: closeCodes.documentDeleted,
        error: 'versionNotFound',
      })
      expect(await ask(client, 'a', { op: 'restoreVersion', version, kinds: [] })).toMatchObject({
        error: 'versionNotFound',
      })
    }
  })

  it('bad arguments, a document not open and a relay without history fail without closing anything', async () => {
    const test = await start()
    const client = await connectV3(test.url)
    client.open('a')
    expect(await ask(client, 'a', { op: 'saveVersion', label: ' ' })).toMatchObject({
      code: closeCodes.malformedMessage,
      error: 'malformedMessage',
    })
    expect(await ask(client, 'a', { op: 'listVersions', limit: 0 })).toMatchObject({ error: 'malformedMessage' })
    expect(await ask(client, 'elsewhere', { op: 'listVersions', limit: 1 })).toMatchObject({
      code: closeCodes.malformedMessage,
      error: 'documentNotOpen',
    })
    const v = await ask(client, 'a', { op: 'saveVersion', label: 'v' })
    if (v.type !== 'answer') throw new Error(v.message)
    expect(client.closeEvent).toBeUndefined()

    const plain = await start({ store: new MemoryDocStore(), history: false })
    const noHistory = await connectV3(plain.url)
    noHistory.open('a')
    expect(await ask(noHistory, 'a', { op: 'listVersions', limit: 1 })).toMatchObject({
      code: closeCodes.notImplemented,
      error: 'historyUnavailable',
    })
  })

  it('a request waits for its document’s authorization, and fails with the refusal when it is refused', async () => {
    let authorizations = 0
    // A slow hook: the requests arrive while it has not answered.
    const slowAuth: Authenticate = async (_request, doc) => {
      authorizations++
      await new Promise((resolve) => setTimeout(resolve, 100))
      return doc === 'secret' ? { denied: 'forbidden', reason: 'not yours' } : { access: 'write' }
    }
    const test = await start({ authenticate: slowAuth })
    const client = await connectV3(test.url)
    client.open('notes')
    client.open('secret')
    const [notes, secret] = await Promise.all([
      ask(client, 'notes', { op: 'saveVersion', label: 'early' }),
      ask(client, 'secret', { op: 'listVersions', limit: 1 }),
    ])
    expect(authorizations).toBe(2)
    expect(notes).toMatchObject({ type: 'answer', versions: [{ label: 'early' }] })
    expect(secret).toMatchObject({
      type: 'failed',
      code: closeCodes.forbidden,
      error: 'forbidden',
      message: 'not yours',
    })
  })

  it('a concord.v2 connection that sends a history frame is closed with 4400', async () => {
    const test = await start()
    const v2 = await NativeTestClient.connect(test.url)
    clients.push(v2)
    v2.open('a')
    await v2.whenSynced('a')
    v2.send({ type: 'request', doc: 'a', id: 1, request: { op: 'listVersions', limit: 1 } })
    expect((await v2.whenClosed()).code).toBe(closeCodes.malformedMessage)
  })

  it('a v3 client that sends an answer or failed frame, or an unknown operation, is closed with 4400', async () => {
    const test = await start()
    for (const bytes of [
      Uint8Array.of(13, 0, 1, 0, 0),
      Uint8Array.of(14, 0, 1, 0, 0, 0),
      Uint8Array.of(12, 1, 0x61, 1, 9),
    ]) {
      const client = await connectV3(test.url)
      client.ws.send(bytes)
      expect((await client.whenClosed()).code).toBe(closeCodes.malformedMessage)
    }
  })
})
