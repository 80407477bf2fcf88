/**
 * The document HTTP API as a backend uses it: node's fetch against a real
 * relay on a loopback port, with WebSocket clients of the same documents.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import { ControlledStore } from './test/controlledStore.js'
import { waitFor, type TestRelay } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start, connect } = testRelays()

const httpOf = (test: TestRelay) => `http://127.0.0.1:${test.port}`
const docUrl = (test: TestRelay, name: string, rest = '') =>
  `${httpOf(test)}/v1/docs/${encodeURIComponent(name)}${rest}`

const updateOf = (edit: (doc: Y.Doc) => void): Uint8Array => {
  const doc = new Y.Doc()
  edit(doc)
  return Y.encodeStateAsUpdate(doc)
}

const post = (url: string, body: Uint8Array, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    body: new Uint8Array(body),
    headers: { 'content-type': 'application/octet-stream', ...headers },
  })

const stateOf = async (test: TestRelay, name: string): Promise<Y.Doc> => {
  const response = await fetch(docUrl(test, name))
  expect(response.status).toBe(200)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()))
  return doc
}

/** Tokens are `read:<doc>` or `write:<doc>`. */
const tokenAuth: Authenticate = (_request, doc, token) => {
  if (token === undefined) return { denied: 'unauthenticated', reason: 'a token is required' }
  const [access, granted] = token.split(':')
  if ((access !== 'read' && access !== 'write') || granted === undefined) {
    return { denied: 'unauthenticated', reason: 'bad token' }
  }
  return granted === doc ? { access } : { denied: 'forbidden', reason: `the token does not grant "${doc}"` }
}

/** Like tokenAuth, and `read:<prefix>*` grants every document under the prefix. */
const tokenAuthWithPrefix: Authenticate = (request, doc, token) => {
  const prefix = token?.match(/^read:(.*)\*$/)?.[1]
  if (prefix !== undefined) return doc.startsWith(prefix) ? { access: 'read' } : { denied: 'forbidden', reason: 'no' }
  return tokenAuth(request, doc, token)
}

describe('the document HTTP API', () => {
  it('stores a POSTed update before answering, forwards it to live clients, and serves it back', async () => {
    const relay = await start()
    const watcher = await connect(relay)
    const live = watcher.open('notes/ada').doc
    await watcher.whenSynced('notes/ada')

    const update = updateOf((doc) => doc.getText('body').insert(0, 'from the backend'))
    const response = await post(docUrl(relay, 'notes/ada', '/updates'), update)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ stored: true })
    await waitFor(() => live.getText('body').toString() === 'from the backend', 'the update to reach the client')

    const stored = await stateOf(relay, 'notes/ada')
    expect(stored.getText('body').toString()).toBe('from the backend')
    const vector = await fetch(docUrl(relay, 'notes/ada', '/state-vector'))
    expect(vector.headers.get('content-type')).toBe('application/octet-stream')
    expect(new Uint8Array(await vector.arrayBuffer())).toEqual(Y.encodeStateVector(stored))
    // What it stored is in the store itself, not only in memory.
    expect((await relay.store.load('notes/ada')).length).toBeGreaterThan(0)
  })

  it('answers a POST only once the update is durable', async () => {
    const store = new ControlledStore()
    const relay = await start({ store })
    await stateOf(relay, 'held') // loaded, so only the append is held
    store.hold()
    let answered = false
    const posted = post(
      docUrl(relay, 'held', '/updates'),
      updateOf((doc) => doc.getMap('m').set('k', 1)),
    ).then((response) => {
      answered = true
      return response
    })
    await waitFor(() => store.heldAppends === 1, 'the append to reach the store')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(answered).toBe(false)
    store.release()
    expect((await posted).status).toBe(200)
  })

  it('returns only what a state vector lacks, and named roots as JSON', async () => {
    const relay = await start()
    const writer = new Y.Doc()
    writer.getText('body').insert(0, 'hello')
    writer.getArray('todos').push([{ title: 'one', done: false }])
    writer.getMap('meta').set('count', 2n ** 60n)
    await post(docUrl(relay, 'doc', '/updates'), Y.encodeStateAsUpdate(writer))
    const before = Y.encodeStateVector(writer)
    const reader = new Y.Doc()
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(writer))
    writer.getText('body').insert(5, ', world')
    await post(docUrl(relay, 'doc', '/updates'), Y.encodeStateAsUpdate(writer, before))

    const diff = await fetch(docUrl(relay, 'doc', `?stateVector=${Buffer.from(before).toString('base64url')}`))
    const missing = new Uint8Array(await diff.arrayBuffer())
    expect(missing.byteLength).toBeLessThan(Y.encodeStateAsUpdate(writer).byteLength)
    Y.applyUpdate(reader, missing)
    expect(reader.getText('body').toString()).toBe('hello, world')

    const json = await fetch(docUrl(relay, 'doc', '?format=json&types=body:text,todos:array,meta:map,none:map'))
    expect(json.headers.get('content-type')).toBe('application/json')
    expect(await json.json()).toEqual({
      body: 'hello, world',
      todos: [{ title: 'one', done: false }],
      meta: { count: (2n ** 60n).toString() },
      none: {},
    })
  })

  it('checks credentials per document like a WebSocket, and takes the service key for everything', async () => {
    const relay = await start({ authenticate: tokenAuth, apiKey: 'service-key-of-the-backend-0123456789' })
    const update = updateOf((doc) => doc.getText('t').insert(0, 'x'))
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

    const anonymous = await fetch(docUrl(relay, 'team'))
    expect([anonymous.status, await anonymous.json()]).toEqual([
      401,
      { code: 'unauthenticated', message: 'a token is required' },
    ])
    expect((await fetch(docUrl(relay, 'team'), { headers: bearer('bogus') })).status).toBe(401)
    expect((await fetch(docUrl(relay, 'team'), { headers: { authorization: 'Basic abc' } })).status).toBe(401)
    const otherDoc = await fetch(docUrl(relay, 'team'), { headers: bearer('write:other') })
    expect([otherDoc.status, (await otherDoc.json()).code]).toEqual([403, 'forbidden'])

    const readOnly = await post(docUrl(relay, 'team', '/updates'), update, bearer('read:team'))
    expect([readOnly.status, (await readOnly.json()).code]).toEqual([403, 'forbidden'])
    expect(await relay.store.load('team')).toEqual([])
    expect((await fetch(docUrl(relay, 'team'), { headers: bearer('read:team') })).status).toBe(200)

    expect((await post(docUrl(relay, 'team', '/updates'), update, bearer('write:team'))).status).toBe(200)
    const service = await fetch(docUrl(relay, 'team', '?format=json&types=t:text'), {
      headers: bearer('service-key-of-the-backend-0123456789'),
    })
    expect(await service.json()).toEqual({ t: 'x' })
    expect(
      (await post(docUrl(relay, 'elsewhere', '/updates'), update, bearer('service-key-of-the-backend-0123456789')))
        .status,
    ).toBe(200)
  })

  it('lists the documents the credentials may read, a page at a time', async () => {
    const relay = await start({ authenticate: tokenAuthWithPrefix, apiKey: 'service-key-of-the-backend-0123456789' })
    const service = { authorization: 'Bearer service-key-of-the-backend-0123456789' }
    for (const name of ['team/b', 'team/a', 'other/x', 'team/c'])
      expect(
        (
          await post(
            docUrl(relay, name, '/updates'),
            updateOf((doc) => doc.getText('t').insert(0, name)),
            service,
          )
        ).status,
      ).toBe(200)
    type Page = {
      documents: Array<{ name: string; bytes: number; updatedAt: string | null }>
      nextCursor: string | null
    }
    const list = async (query: string, headers = service): Promise<Page> => {
      const response = await fetch(`${httpOf(relay)}/v1/docs${query}`, { headers })
      expect(response.status).toBe(200)
      return (await response.json()) as Page
    }
    const first = await list('?prefix=team/&limit=2')
    expect(first.documents.map((doc) => doc.name)).toEqual(['team/a', 'team/b'])
    expect(first.documents[0]!.bytes).toBeGreaterThan(0)
    expect(Date.parse(first.documents[0]!.updatedAt!)).toBeLessThanOrEqual(Date.now())
    const second = await list(`?prefix=team/&limit=2&cursor=${first.nextCursor}`)
    expect(second.documents.map((doc) => doc.name)).toEqual(['team/c'])
    expect(second.nextCursor).toBeNull()
    // A token sees only what it may read.
    const reader = await list('?limit=10', { authorization: 'Bearer read:team/*' })
    expect(reader.documents.map((doc) => doc.name)).toEqual(['team/a', 'team/b', 'team/c'])
    expect((await fetch(`${httpOf(relay)}/v1/docs`)).status).toBe(401)
    expect((await fetch(`${httpOf(relay)}/v1/docs?limit=0`, { headers: service })).status).toBe(400)
    expect((await fetch(`${httpOf(relay)}/v1/docs?cursor=a.b`, { headers: service })).status).toBe(400)
  })

  it('refuses hostile input with the documented code, and stores nothing of it', async () => {
    const relay = await start({ maxPayload: 64 * 1024 })
    const refusal = async (response: Response) => [response.status, ((await response.json()) as { code: string }).code]
    const base = httpOf(relay)

    expect(await refusal(await fetch(`${base}/v1/docs/bad%01name`))).toEqual([400, 'invalidDocumentName'])
    expect(await refusal(await fetch(`${base}/v1/docs/%E0%A4%A`))).toEqual([400, 'invalidDocumentName'])
    expect(await refusal(await fetch(`${base}/v1/docs/${'x'.repeat(300)}`))).toEqual([400, 'invalidDocumentName'])
    expect(await refusal(await post(docUrl(relay, 'd', '/updates'), Uint8Array.of(1, 2, 3, 250)))).toEqual([
      422,
      'invalidUpdate',
    ])
    expect(await refusal(await post(docUrl(relay, 'd', '/updates'), new Uint8Array(65 * 1024)))).toEqual([
      413,
      'messageTooBig',
    ])
    expect(await relay.store.load('d')).toEqual([])
    expect(await refusal(await fetch(docUrl(relay, 'd', '?stateVector=not*base64')))).toEqual([400, 'malformedMessage'])
    expect(await refusal(await fetch(docUrl(relay, 'd', '?stateVector=_w')))).toEqual([400, 'malformedMessage'])
    expect(await refusal(await fetch(docUrl(relay, 'd', '?format=json')))).toEqual([400, 'malformedMessage'])
    expect(await refusal(await fetch(docUrl(relay, 'd', '?format=json&types=x:set')))).toEqual([
      400,
      'malformedMessage',
    ])
    expect(await refusal(await fetch(docUrl(relay, 'd', '/updates')))).toEqual([405, 'methodNotAllowed'])
    expect(await refusal(await fetch(`${base}/v1/nothing`))).toEqual([404, 'notFound'])
    // Other paths are not the API's: the server's own handler answers them.
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404)
    expect(await stateOf(relay, 'd').then((doc) => doc.share.size)).toBe(0)
  })

  it('limits requests per address like WebSocket messages (429)', async () => {
    const relay = await start({ rateLimit: { messagesPerSecond: 5 } })
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () => fetch(docUrl(relay, 'busy')).then((r) => r.status)),
    )
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0)
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(10)
  })

  it('answers 503 when the store cannot load the document, and serves it once the store recovers', async () => {
    const store = new ControlledStore()
    store.failLoads = true
    const relay = await start({ store })
    const failed = await fetch(docUrl(relay, 'd'))
    expect([failed.status, ((await failed.json()) as { code: string }).code]).toEqual([503, 'documentUnavailable'])
    store.failLoads = false
    expect((await fetch(docUrl(relay, 'd'))).status).toBe(200)
  })
})
