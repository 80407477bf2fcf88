/** The client's credentials against a real relay whose authenticate hook reads `access:doc1,doc2` tokens. */
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import { yWebsocketWire } from '@concord/client/y-websocket'
import { WebSocket as NodeWebSocket } from 'ws'
import type { Authenticate } from '@concord/relay'
import { startRelay, waitFor, type TestRelay } from '@concord/relay/testing'
import { createClient, type ClientOptions, type ConcordClient } from './client.js'
import type { ConcordError } from './errors.js'

const clients: ConcordClient[] = []
let relay: TestRelay | undefined
let storeNames = 0
const seen: Array<{ doc: string; token: string | undefined }> = []

const tokenAuth =
  (expiresInMs?: number): Authenticate =>
  (_request, doc, token) => {
    seen.push({ doc, token })
    const [access, docs] = (token ?? '').split(':')
    if ((access !== 'read' && access !== 'write') || docs === undefined) {
      return { denied: 'unauthenticated', reason: 'bad token' }
    }
    if (!docs.split(',').includes(doc)) return { denied: 'forbidden', reason: `no access to ${doc}` }
    return { access, expiresAt: expiresInMs === undefined ? undefined : Date.now() + expiresInMs }
  }

const makeClient = (options: Partial<ClientOptions>) => {
  const client = createClient({
    url: relay!.url,
    name: `auth-${++storeNames}`,
    WebSocket: NodeWebSocket as never,
    connection: { backoff: { initialDelayMs: 20, maxDelayMs: 100 } },
    ...options,
  })
  clients.push(client)
  const errors: ConcordError[] = []
  client.on('error', (error) => errors.push(error))
  return { client, errors }
}

afterEach(async () => {
  seen.length = 0
  await Promise.all(clients.splice(0).map((client) => client.destroy()))
  await relay?.close()
  relay = undefined
})

describe('client credentials', () => {
  it('sends its token before opening documents, and syncs what the token allows', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const { client } = makeClient({ auth: 'write:notes' })
    const notes = client.open('notes')
    notes.doc.getText('t').insert(0, 'signed in')
    await notes.whenSynced()
    expect(seen).toEqual([{ doc: 'notes', token: 'write:notes' }])
  })

  it('asks its token source again when the token expires, and carries on with the new one', async () => {
    relay = await startRelay({ authenticate: tokenAuth(150) })
    let issued = 0
    const { client, errors } = makeClient({ auth: async () => `write:notes,n${++issued}` })
    const notes = client.open('notes')
    await notes.whenSynced()
    await waitFor(() => issued >= 3, 'two refreshes after expiries')
    notes.doc.getText('t').insert(0, 'still writing')
    await notes.whenSynced()
    expect(errors.some((error) => error.code === 'unauthenticated')).toBe(true)
    expect(new Set(seen.map(({ token }) => token)).size).toBeGreaterThanOrEqual(3)
  })

  it('does not retry a refused token until the source gives another', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const { client, errors } = makeClient({ auth: 'nonsense' })
    const notes = client.open('notes')
    await waitFor(() => errors.length > 0, 'the refusal')
    expect(errors[0]).toMatchObject({ code: 'unauthenticated', message: 'bad token' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(seen).toHaveLength(1)
    expect(notes.status).not.toBe('synced')
  })

  it('reports a forbidden document, leaves it closed across reconnects, and keeps the others', async () => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const { client, errors } = makeClient({ auth: 'write:mine' })
    const secret = client.open('secret')
    const mine = client.open('mine')
    await mine.whenSynced()
    await waitFor(() => errors.some((error) => error.doc === 'secret'), 'the refusal of "secret"')
    expect(errors.find((error) => error.doc === 'secret')).toMatchObject({ code: 'forbidden' })
    const port = relay.port
    await relay.close()
    relay = await startRelay({ authenticate: tokenAuth(), port })
    mine.doc.getText('t').insert(0, 'after the restart')
    await mine.whenSynced()
    expect(seen.filter(({ doc }) => doc === 'secret')).toHaveLength(1)
    expect(secret.status).not.toBe('synced')
  })

  it.each([
    ["protocol: 'y-websocket'", { protocol: 'y-websocket' }],
    ['wire: yWebsocketWire()', { wire: yWebsocketWire() }],
  ] as const)('sends the token as ?token= in y-websocket mode (%s)', async (_way, way) => {
    relay = await startRelay({ authenticate: tokenAuth() })
    const { client } = makeClient({ auth: 'write:compat', ...way })
    const compat = client.open('compat')
    compat.doc.getText('t').insert(0, 'query token')
    await compat.whenSynced()
    expect(seen).toEqual([{ doc: 'compat', token: 'write:compat' }])
  })
})
