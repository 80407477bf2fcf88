/**
 * The version-history resources of the HTTP API, with node's fetch against a real relay on a
 * loopback port: list, save, load and restore, and what each refuses.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import { MemoryDocStore } from './memoryDocStore.js'
import type { TestRelay } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start } = testRelays()

/** Tokens are `read:<doc>` or `write:<doc>`. */
const tokenAuth: Authenticate = (_request, doc, token) => {
  const [access, granted] = (token ?? '').split(':')
  if ((access !== 'read' && access !== 'write') || granted === undefined) {
    return { denied: 'unauthenticated', reason: 'bad token' }
  }
  return granted === doc ? { access, subject: `${access}er` } : { denied: 'forbidden', reason: 'not granted' }
}

const quiet = { quietMs: 600_000, maxIntervalMs: 600_000 }

const versionsUrl = (test: TestRelay, name: string, rest = '') =>
  `http://127.0.0.1:${test.port}/v1/docs/${encodeURIComponent(name)}/versions${rest}`

const as = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
})

const saveNamed = (test: TestRelay, name: string, label: string, token = `write:${name}`) =>
  fetch(versionsUrl(test, name), as(token, { method: 'POST', body: JSON.stringify({ label }) }))

const write = async (test: TestRelay, name: string, text: string): Promise<void> => {
  const handle = await test.relay.openDocument(name, { by: 'ada' })
  handle.doc.getText('body').insert(handle.doc.getText('body').length, text)
  await handle.close()
}

const textOf = (state: Uint8Array): string => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  return doc.getText('body').toString()
}

describe('the version history over HTTP', () => {
  it('saves named versions, lists them newest first a page at a time, serves one, and restores it', async () => {
    const test = await start({ authenticate: tokenAuth, history: quiet })
    await write(test, 'notes', 'one')
    const saved = await saveNamed(test, 'notes', 'v1')
    expect(saved.status).toBe(201)
    const v1 = (await saved.json()) as { id: string }
    expect(v1).toEqual({
      id: expect.any(String),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      label: 'v1',
      authors: ['ada'],
      restoredFrom: null,
      bytes: expect.any(Number),
    })
    await write(test, 'notes', ' two')
    const v2 = (await (await saveNamed(test, 'notes', 'v2')).json()) as { id: string }

    const page = await fetch(versionsUrl(test, 'notes', '?limit=1'), as('read:notes'))
    expect(page.status).toBe(200)
    const first = (await page.json()) as { versions: Array<{ id: string }>; nextCursor: string | null }
    expect(first.versions.map((version) => version.id)).toEqual([v2.id])
    const rest = await fetch(versionsUrl(test, 'notes', `?limit=1&before=${first.nextCursor}`), as('read:notes'))
    const second = (await rest.json()) as { versions: Array<{ id: string }>; nextCursor: string | null }
    expect(second.versions.map((version) => version.id)).toEqual([v1.id])

    const state = await fetch(versionsUrl(test, 'notes', `/${v1.id}`), as('read:notes'))
    expect(state.headers.get('content-type')).toBe('application/octet-stream')
    expect(textOf(new Uint8Array(await state.arrayBuffer()))).toBe('one')

    const restore = await fetch(
      versionsUrl(test, 'notes', `/${v1.id}/restore?types=body:text`),
      as('write:notes', { method: 'POST' }),
    )
    expect(restore.status).toBe(200)
    expect(await restore.json()).toMatchObject({ label: `restored from ${v1.id}`, restoredFrom: v1.id })
    const now = await fetch(`http://127.0.0.1:${test.port}/v1/docs/notes`, as('read:notes'))
    expect(textOf(new Uint8Array(await now.arrayBuffer()))).toBe('one')
  })

  it('lets read-only credentials list and read versions, but not save or restore: nothing changes', async () => {
    const test = await start({ authenticate: tokenAuth, history: quiet })
    await write(test, 'notes', 'one')
    const v1 = (await (await saveNamed(test, 'notes', 'v1')).json()) as { id: string }
    await write(test, 'notes', ' two')
    const before = await test.store.load('notes')

    expect((await fetch(versionsUrl(test, 'notes'), as('read:notes'))).status).toBe(200)
    expect((await fetch(versionsUrl(test, 'notes', `/${v1.id}`), as('read:notes'))).status).toBe(200)
    const save = await saveNamed(test, 'notes', 'mine', 'read:notes')
    expect(save.status).toBe(403)
    expect(await save.json()).toMatchObject({ code: 'forbidden' })
    const restore = await fetch(versionsUrl(test, 'notes', `/${v1.id}/restore`), as('read:notes', { method: 'POST' }))
    expect(restore.status).toBe(403)
    expect(await test.store.load('notes')).toEqual(before)
    expect(await test.relay.listVersions('notes')).toHaveLength(1)
    // Another document's token grants nothing here.
    expect((await fetch(versionsUrl(test, 'notes'), as('read:other'))).status).toBe(403)
  })

  it('answers an unknown id, or another document’s, with 404 versionNotFound, changing nothing', async () => {
    const test = await start({ authenticate: tokenAuth, history: quiet })
    await write(test, 'a', 'of a')
    await write(test, 'b', 'of b')
    const ofA = (await (await saveNamed(test, 'a', 'a1')).json()) as { id: string }
    const before = await test.store.load('b')
    for (const [url, init] of [
      [versionsUrl(test, 'b', `/${ofA.id}`), as('read:b')],
      [versionsUrl(test, 'b', '/no-such-version'), as('read:b')],
      [versionsUrl(test, 'b', `/${ofA.id}/restore`), as('write:b', { method: 'POST' })],
    ] as const) {
      const response = await fetch(url, init)
      expect(response.status).toBe(404)
      expect(await response.json()).toMatchObject({ code: 'versionNotFound' })
    }
    expect(await test.store.load('b')).toEqual(before)
    expect(await test.relay.listVersions('b')).toEqual([])
  })

  it('refuses malformed requests with typed errors', async () => {
    const test = await start({ authenticate: tokenAuth, history: quiet })
    await write(test, 'notes', 'one')
    const v1 = (await (await saveNamed(test, 'notes', 'v1')).json()) as { id: string }
    const statusAndCode = async (response: Response) => [
      response.status,
      ((await response.json()) as { code: string }).code,
    ]
    expect(await statusAndCode(await fetch(versionsUrl(test, 'notes', '?limit=0'), as('read:notes')))).toEqual([
      400,
      'malformedMessage',
    ])
    expect(
      await statusAndCode(await fetch(versionsUrl(test, 'notes'), as('write:notes', { method: 'POST', body: 'nope' }))),
    ).toEqual([400, 'malformedMessage'])
    expect(await statusAndCode(await saveNamed(test, 'notes', ''))).toEqual([400, 'malformedMessage'])
    expect(
      await statusAndCode(
        await fetch(
          versionsUrl(test, 'notes', `/${v1.id}/restore?types=body:nope`),
          as('write:notes', { method: 'POST' }),
        ),
      ),
    ).toEqual([400, 'malformedMessage'])
    // The body is text, but the caller says map: nothing is restored.
    expect(
      await statusAndCode(
        await fetch(
          versionsUrl(test, 'notes', `/${v1.id}/restore?types=body:map`),
          as('write:notes', { method: 'POST' }),
        ),
      ),
    ).toEqual([422, 'rootTypeUnknown'])
    expect(
      await statusAndCode(
        await fetch(versionsUrl(test, 'notes', `/${v1.id}`), as('write:notes', { method: 'DELETE' })),
      ),
    ).toEqual([405, 'methodNotAllowed'])
    expect(await test.relay.listVersions('notes')).toHaveLength(1)
  })

  it('answers 501 when the relay keeps no history, and 410 for a deleted document', async () => {
    const off = await start({ store: new MemoryDocStore(), history: false })
    const response = await fetch(versionsUrl(off, 'notes'))
    expect(response.status).toBe(501)
    expect(await response.json()).toMatchObject({ code: 'notImplemented' })

    const test = await start({ history: quiet })
    await write(test, 'gone', 'x')
    await test.relay.deleteDocument('gone')
    const deleted = await fetch(versionsUrl(test, 'gone'))
    expect(deleted.status).toBe(410)
    expect(await deleted.json()).toMatchObject({ code: 'documentDeleted' })
  })
})
