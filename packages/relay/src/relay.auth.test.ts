import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { closeCodes, decodeYWebsocketMessage } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { Authenticate, AuthResult } from './auth.js'
import { authFrameLimit } from './nativeConnection.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const clients: NativeTestClient[] = []
const providers: WebsocketProvider[] = []

afterEach(async () => {
  for (const provider of providers.splice(0)) provider.destroy()
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
})

/**
 * Tokens of the form `access:doc1,doc2` (access `read` or `write`); `expired`
 * and anything else are refused. The calls are recorded.
 */
const calls: Array<{ doc: string; token: string | undefined }> = []
const tokenAuth =
  (expiresInMs?: number): Authenticate =>
  (_request: IncomingMessage, doc, token): AuthResult => {
    calls.push({ doc, token })
    if (token === undefined) return { denied: 'unauthenticated', reason: 'a token is required' }
    const [access, docs] = token.split(':')
    if ((access !== 'read' && access !== 'write') || docs === undefined) {
      return { denied: 'unauthenticated', reason: 'bad token' }
    }
    if (!docs.split(',').includes(doc)) return { denied: 'forbidden', reason: `no access to ${doc}` }
    return { access, expiresAt: expiresInMs === undefined ? undefined : Date.now() + expiresInMs }
  }

const connect = async (token?: string) => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  if (token !== undefined) client.send({ type: 'auth', doc: '', token })
  return client
}

const provide = (room: string, token?: string, doc = new Y.Doc()) => {
  const provider = new WebsocketProvider(relay!.url, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: token === undefined ? {} : { token },
  })
  providers.push(provider)
  return provider
}

/** Connects a plain client to `path` (y-websocket mode) and resolves with how the relay closed it. */
const closeOf = async (path: string): Promise<{ code: number; reason: string }> => {
  const ws = new WebSocket(`${relay!.url}${path}`)
  ws.on('error', () => {})
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer]
  return { code, reason: reason.toString() }
}

const text = (doc: Y.Doc) => doc.getText('t').toString()
const storedText = async (name: string) => {
  const doc = new Y.Doc()
  for (const update of await relay!.store.load(name)) Y.applyUpdate(doc, update)
  return text(doc)
}

describe('authentication: native mode', () => {
  it('checks each document against the token of the auth frame', async () => {
    calls.length = 0
    relay = await startRelay({ authenticate: tokenAuth() })
    const client = await connect('write:a,b')
    client.open('a')
    client.open('secret')
    await client.whenSynced('a')
    await waitFor(() => client.documents.get('secret')!.error !== undefined, 'the refusal of "secret"')
    expect(client.documents.get('secret')!.error).toEqual({ code: closeCodes.forbidden, reason: 'no access to secret' })
    expect(calls).toEqual([
      { doc: 'a', token: 'write:a,b' },
      { doc: 'secret', token: 'write:a,b' },
    ])
    // The connection stays open for the documents it may use.
    const b = client.open('b')
    b.doc.getText('t').insert(0, 'allowed')
    await client.whenAcked('b')
    expect(await storedText('b')).toBe('allowed')
  })

  it('closes a connection without valid credentials with 4401', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const anonymous = await connect()
    anonymous.open('a')
    expect(await anonymous.whenClosed()).toEqual({ code: closeCodes.unauthenticated, reason: 'a token is required' })
    const forged = await connect('admin:a')
    forged.open('a')
    expect((await forged.whenClosed()).code).toBe(closeCodes.unauthenticated)
  })

  it('drops every write of a read-only document, and says so once, while it still receives the others', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const writer = await connect('write:doc')
    const reader = await connect('read:doc,other')
    const w = writer.open('doc')
    const r = reader.open('doc')
    await Promise.all([writer.whenSynced('doc'), reader.whenSynced('doc')])
    r.doc.getText('t').insert(0, 'vandal ')
    r.doc.getText('t').insert(0, 'again ')
    w.doc.getText('t').insert(0, 'official')
    await writer.whenAcked('doc')
    await waitFor(() => text(r.doc).includes('official'), 'the writer to reach the reader')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(text(w.doc)).toBe('official')
    expect(await storedText('doc')).toBe('official')
    expect(r.ackedSeq).toBe(0)
    const notices = reader.received.filter((frame) => frame.type === 'notice')
    expect(notices).toEqual([expect.objectContaining({ doc: 'doc', code: closeCodes.forbidden })])
  })

  it('never lets read-only access to one document leak to another on the same socket', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const client = await connect('write:mine')
    const readOnly = await connect('read:mine')
    const mine = client.open('mine')
    await client.whenSynced('mine')
    // A second socket's rights do not touch the first, and the first's write access is per document.
    const theirs = readOnly.open('mine')
    await readOnly.whenSynced('mine')
    theirs.doc.getText('t').insert(0, 'no')
    mine.doc.getText('t').insert(0, 'yes')
    await client.whenAcked('mine')
    expect(await storedText('mine')).toBe('yes')
    const mixed = await connect('write:w')
    mixed.send({ type: 'auth', doc: '', token: 'write:w' })
    const w = mixed.open('w')
    await mixed.whenSynced('w')
    // A refreshed token with less access applies to the documents already open.
    mixed.send({ type: 'auth', doc: '', token: 'read:w' })
    mixed.send({ type: 'ping', doc: '', id: 1 })
    await waitFor(() => mixed.received.some((frame) => frame.type === 'pong'), 'the refresh to be handled')
    w.doc.getText('t').insert(0, 'after downgrade')
    await waitFor(() => mixed.received.some((frame) => frame.type === 'notice'), 'the read-only notice')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await storedText('w')).toBe('')
  })

  it('closes the connection with 4401 when the token expires, unless refreshed first', async () => {
    relay = await startRelay({ authenticate: tokenAuth(150) })
    const refreshing = await connect('write:a')
    const lapsing = await connect('write:a')
    refreshing.open('a')
    lapsing.open('a')
    await Promise.all([refreshing.whenSynced('a'), lapsing.whenSynced('a')])
    // Each refresh is a new token (a new JWT has a new exp): the same token again changes nothing.
    let refreshes = 0
    const refresh = setInterval(() => refreshing.send({ type: 'auth', doc: '', token: `write:a,${++refreshes}` }), 50)
    try {
      expect(await lapsing.whenClosed()).toEqual({ code: closeCodes.unauthenticated, reason: 'the token expired' })
      expect(refreshing.closeEvent).toBeUndefined()
    } finally {
      clearInterval(refresh)
    }
  })

  it('denies, and logs, when the hook throws', async () => {
    const errors: string[] = []
    relay = await startRelay({
      authenticate: () => {
        throw new Error('auth service down')
      },
      logger: { debug() {}, info() {}, warn() {}, error: (_fields, message) => errors.push(message ?? '') },
    })
    const client = await connect('write:a')
    client.open('a')
    expect((await client.whenClosed()).code).toBe(closeCodes.unauthenticated)
    expect(errors).toContain('the authenticate hook threw; denying')
  })
})

describe('auth frames: bounded cost per connection', () => {
  /** Counts the hook's calls, and in which event-loop turn each came (a setImmediate ticker numbers them). */
  const countingHook = () => {
    const perToken = new Map<string | undefined, number>()
    const perTurn = new Map<number, number>()
    let turn = 0
    let ticking = true
    const tick = () => {
      turn++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    const authenticate: Authenticate = (_request, _doc, token) => {
      perToken.set(token, (perToken.get(token) ?? 0) + 1)
      perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1)
      return { access: 'read' }
    }
    const total = () => [...perToken.values()].reduce((sum, n) => sum + n, 0)
    return { authenticate, perToken, perTurn, total, stop: () => (ticking = false) }
  }

  const openMany = async (client: NativeTestClient, count: number) => {
    const names = Array.from({ length: count }, (_, i) => `doc-${i}`)
    for (const name of names) client.open(name)
    await Promise.all(names.map((name) => client.whenSynced(name)))
  }

  it('asks the hook nothing for the same token again, and closes a flood of auth frames with 4429', async () => {
    const hook = countingHook()
    try {
      relay = await startRelay({ authenticate: hook.authenticate })
      const client = await connect('reader')
      await openMany(client, 64)
      expect(hook.total()).toBe(64)
      for (let i = 0; i < 200; i++) client.send({ type: 'auth', doc: '', token: 'reader' })
      const closed = await client.whenClosed()
      expect(closed.code).toBe(closeCodes.rateLimited)
      expect(closed.reason).toContain('auth frames')
      expect(hook.total()).toBe(64)
    } finally {
      hook.stop()
    }
  })

  it('re-authorizes open documents for a new token a batch per event-loop turn, for a bounded number of tokens', async () => {
    const hook = countingHook()
    try {
      relay = await startRelay({ authenticate: hook.authenticate })
      const client = await connect('first')
      await openMany(client, 64)
      hook.perTurn.clear()
      client.send({ type: 'auth', doc: '', token: 'second' })
      await waitFor(() => hook.perToken.get('second') === 64, 'every document re-authorized')
      // 64 documents, 16 per turn: at least four turns, and the event loop ran between them.
      expect(Math.max(...hook.perTurn.values())).toBeLessThanOrEqual(16)
      expect(hook.perTurn.size).toBeGreaterThanOrEqual(4)

      // A flood of new tokens: within the limit each re-authorizes; past it the connection is closed.
      for (let i = 0; i < 200; i++) client.send({ type: 'auth', doc: '', token: `token-${i}` })
      expect((await client.whenClosed()).code).toBe(closeCodes.rateLimited)
      const flooded = [...hook.perToken.keys()].filter((token) => token?.startsWith('token-'))
      expect(flooded.length).toBeLessThanOrEqual(authFrameLimit.burst)
      expect(hook.total()).toBeLessThanOrEqual(64 * (2 + authFrameLimit.burst))
    } finally {
      hook.stop()
    }
  })
})

describe('authentication: y-websocket mode', () => {
  it('takes the token from the query, and closes with 4401 or 4403 when denied', async () => {
    calls.length = 0
    relay = await startRelay({ authenticate: tokenAuth() })
    const allowed = provide('room', 'write:room')
    allowed.doc.getText('t').insert(0, 'through the query')
    await waitFor(() => allowed.synced, 'the provider to sync')
    expect(calls).toEqual([{ doc: 'room', token: 'write:room' }])
    expect((await closeOf('/room')).code).toBe(closeCodes.unauthenticated)
    expect((await closeOf('/room?token=write:elsewhere')).code).toBe(closeCodes.forbidden)
  })

  it('ignores query tokens when they are turned off', async () => {
    calls.length = 0
    relay = await startRelay({ authenticate: tokenAuth(), queryTokens: false })
    expect((await closeOf('/room?token=write:room')).code).toBe(closeCodes.unauthenticated)
    expect(calls).toEqual([{ doc: 'room', token: undefined }])
  })

  it('keeps a stock provider with a read-only token from changing the document, and tells it once', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const writer = provide('shared', 'write:shared')
    writer.doc.getText('t').insert(0, 'original')
    await waitFor(() => writer.synced, 'the writer to sync')
    const readerDoc = new Y.Doc()
    readerDoc.getText('t').insert(0, 'offline vandalism ')
    const reader = new WebsocketProvider(relay.url, 'shared', readerDoc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: 'read:shared' },
    })
    providers.push(reader)
    const denials: string[] = []
    reader.ws!.addEventListener('message', (event: { data: unknown }) => {
      const message = decodeYWebsocketMessage(new Uint8Array(event.data as ArrayBuffer))
      if (message.type === 'permissionDenied') denials.push(message.reason)
    })
    await waitFor(() => text(readerDoc).includes('original'), 'the reader to receive the document')
    readerDoc.getText('t').insert(0, 'more ')
    writer.doc.getText('t').insert(8, '!')
    await waitFor(() => text(readerDoc).includes('original!'), 'the next write to reach the reader')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(text(writer.doc)).toBe('original!')
    expect(await storedText('shared')).toBe('original!')
    expect(denials).toEqual(['read-only: your changes are not kept'])
  })

  it('closes a y-websocket connection with 4401 when its token expires', async () => {
    relay = await startRelay({ authenticate: tokenAuth(100) })
    expect(await closeOf('/room?token=write:room')).toEqual({
      code: closeCodes.unauthenticated,
      reason: 'the token expired',
    })
  })

  it('keeps connections whose tokens expire beyond what one timer can wait (30 days), in both modes', async () => {
    const thirtyDays = 30 * 24 * 60 * 60 * 1000
    relay = await startRelay({ authenticate: tokenAuth(thirtyDays) })
    const provider = provide('far', 'write:far')
    const native = await connect('write:far')
    native.open('far')
    await waitFor(() => provider.synced, 'the provider to sync')
    await native.whenSynced('far')
    // A setTimeout longer than 2^31-1 ms fires at once; the connections must outlive that.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(provider.wsconnected).toBe(true)
    expect(native.closeEvent).toBeUndefined()
  })
})
