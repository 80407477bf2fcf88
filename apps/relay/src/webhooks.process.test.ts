/**
 * Webhooks of the service as a user runs it: the built concord-relay as a
 * child process, killed with SIGKILL, restarted on the same data folder; on
 * PostgreSQL and Redis, two of them sharing one outbox. Real receivers on
 * loopback ports.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startPostgres, startRedis, waitFor, type PostgresServer, type RedisServer } from '@concord/relay/testing'
import { killRelayProcesses, startRelayProcess, type RelayProcess } from './relayProcess.js'
import { waitUntil } from './test/waitUntil.js'
import { WebhookReceiver } from './test/webhookReceiver.js'
import type { WebhookPayload } from './webhookPayload.js'
import { verifyWebhookSignature } from './webhookSignature.js'

const secret = 'a webhook secret that is long enough to sign'
let dataDir: string | undefined
let receiver: WebhookReceiver | undefined
let servers: [PostgresServer, RedisServer] | undefined

afterEach(async () => {
  await killRelayProcesses()
  await receiver?.stop()
  receiver = undefined
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  dataDir = undefined
})

afterAll(async () => {
  await Promise.all(servers?.map((server) => server.stop()) ?? [])
})

const webhookFlags = (url: string) => ['--webhook-url', url, '--webhook-secret', secret, '--webhook-debounce-ms', '0']

const httpOf = (relay: RelayProcess) => relay.url.replace('ws://', 'http://')

const post = async (relay: RelayProcess, name: string, text: string): Promise<void> => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  const response = await fetch(`${httpOf(relay)}/v1/docs/${name}/updates`, {
    method: 'POST',
    body: new Uint8Array(Y.encodeStateAsUpdate(doc)),
  })
  expect(response.status).toBe(200)
}

const outboxDepth = async (relay: RelayProcess): Promise<number> => {
  const text = await (await fetch(`${httpOf(relay)}/metrics`)).text()
  return Number(/^concord_webhook_outbox_depth (\S+)$/m.exec(text)?.[1])
}

const payloads = (from: WebhookReceiver): WebhookPayload[] =>
  from.received.map((request) => JSON.parse(request.body) as WebhookPayload)

describe('webhooks of the service process', () => {
  it('loses no event when the relay is killed with SIGKILL after the write and before the delivery', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-webhooks-'))
    // Down, so nothing can be delivered before the kill.
    receiver = await WebhookReceiver.create(false)
    const relay = await startRelayProcess(dataDir, 0, ...webhookFlags(receiver.url))
    await post(relay, 'crash', 'acknowledged')
    relay.child.kill('SIGKILL')
    expect((await relay.exited).signal).toBe('SIGKILL')
    expect(receiver.received).toEqual([])

    await receiver.start()
    await startRelayProcess(dataDir, 0, ...webhookFlags(receiver.url))
    const arrived = receiver
    await waitFor(() => arrived.idsReceived().size === 2, 'both events of the write', 30_000)
    expect(
      payloads(arrived)
        .map((payload) => `${payload.type} ${payload.data.name}`)
        .sort(),
    ).toEqual(['document.changed crash', 'document.created crash'])
    for (const request of arrived.received) expect(verifyWebhookSignature(secret, request)).toBe(true)
  }, 60_000)

  it('delivers each event once in a cluster of two relays that share the outbox', async () => {
    servers ??= await Promise.all([startPostgres(), startRedis()])
    const [postgres, redis] = servers
    dataDir = await mkdtemp(join(tmpdir(), 'concord-webhooks-'))
    receiver = await WebhookReceiver.create()
    const flags = ['--store', postgres.url, '--redis', redis.url, ...webhookFlags(receiver.url)]
    const relays = await Promise.all([startRelayProcess(dataDir, 0, ...flags), startRelayProcess(dataDir, 0, ...flags)])
    const documents = 12
    await Promise.all(Array.from({ length: documents }, (_, i) => post(relays[i % 2]!, `cluster-${i}`, `text ${i}`)))
    const arrived = receiver
    await waitFor(() => arrived.idsReceived().size === 2 * documents, 'every event', 30_000)
    // An empty outbox (the shared table) sends nothing more: each event came once.
    await waitUntil(async () => (await outboxDepth(relays[0]!)) === 0, 'an empty outbox')
    const ids = arrived.received.map((request) => request.id)
    expect(ids).toHaveLength(2 * documents)
    expect(new Set(ids).size).toBe(ids.length)
  }, 90_000)
})
