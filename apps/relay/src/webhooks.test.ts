/**
 * Webhooks as a receiver sees them: a real HTTP receiver on a loopback port
 * that is down, then fails, then is slow, then is up, in front of the
 * service in this process. Every event arrives at least once, each retry
 * with the same id and body, every request signed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { waitFor } from '@concord/relay/testing'
import { waitUntil } from './test/waitUntil.js'
import { WebhookReceiver, type ReceivedWebhook } from './test/webhookReceiver.js'
import { startTestService, type TestService } from './test/serviceHarness.js'
import type { WebhookPayload } from './webhookPayload.js'
import { verifyWebhookSignature } from './webhookSignature.js'

const secret = 'a webhook secret that is long enough to sign'
let running: TestService | undefined
let receiver: WebhookReceiver | undefined

afterEach(async () => {
  await running?.stop()
  await receiver?.stop()
  running = receiver = undefined
})

const startWithWebhooks = (url: string) =>
  startTestService(['--webhook-url', url, '--webhook-secret', secret, '--webhook-debounce-ms', '50'], {
    webhookTimings: { requestTimeoutMs: 300, retryBaseMs: 40, retryMaxMs: 150, pollIntervalMs: 20 },
  })

const post = async (http: string, name: string, doc: Y.Doc): Promise<void> => {
  const response = await fetch(`${http}/v1/docs/${name}/updates`, {
    method: 'POST',
    body: new Uint8Array(Y.encodeStateAsUpdate(doc)),
  })
  expect(response.status).toBe(200)
}

/** The ids of the events whose requests failed, as the service logged them. */
const failedIds = (service: TestService): Set<string> =>
  new Set(
    service
      .logs()
      .filter((line) => line.msg === 'a webhook request failed' || line.msg === 'a webhook receiver refused an event')
      .map((line) => String(line.event)),
  )

const metric = async (service: TestService, name: string): Promise<number> => {
  const text = await (await fetch(`${service.http}/metrics`)).text()
  const line = text.split('\n').find((each) => each.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.split(' ')[1])
}

const payloadOf = (request: ReceivedWebhook): WebhookPayload => JSON.parse(request.body) as WebhookPayload

describe('webhooks', () => {
  it('delivers every event at least once through a receiver that is down, fails, is slow, then is up', async () => {
    receiver = await WebhookReceiver.create(false)
    running = await startWithWebhooks(receiver.url)
    const service = running
    const notes = new Y.Doc()
    notes.getText('body').insert(0, 'hello')
    await post(service.http, 'notes', notes)
    const scratch = new Y.Doc()
    scratch.getText('body').insert(0, 'scratch')
    await post(service.http, 'scratch', scratch)
    expect((await fetch(`${service.http}/v1/docs/scratch`, { method: 'DELETE' })).status).toBe(204)
    // notes: created, changed; scratch: created, changed, deleted.
    const events = 5

    // Down: nothing listens. Each event is tried, and kept.
    await waitFor(() => failedIds(service).size === events, 'every event to fail while the receiver is down', 15_000)
    expect(await metric(service, 'concord_webhook_outbox_depth')).toBe(events)
    expect(await metric(service, 'concord_webhook_outbox_oldest_age_seconds')).toBeGreaterThan(0)

    // 500: each is tried again, and kept.
    receiver.mode = { status: 500 }
    await receiver.start()
    await waitFor(() => receiver!.idsReceived((mode) => mode.status === 500).size === events, 'five 500s', 15_000)

    // Slow: the receiver gets each request but answers after the relay gave up (a duplicate on its way).
    receiver.mode = { status: 200, delayMs: 2_000 }
    await waitFor(() => receiver!.idsReceived((mode) => mode.delayMs === 2_000).size === events, 'slow', 15_000)

    receiver.mode = { status: 200 }
    await waitFor(() => receiver!.idsReceived((mode) => mode === receiver!.mode).size === events, 'up', 15_000)
    await waitUntil(async () => (await metric(service, 'concord_webhook_outbox_depth')) === 0, 'an empty outbox')

    // Every request of one event carries its id and the same body, and is signed.
    const byId = new Map<string, ReceivedWebhook[]>()
    for (const request of receiver.received) byId.set(request.id, [...(byId.get(request.id) ?? []), request])
    expect(byId.size).toBe(events)
    for (const [id, requests] of byId) {
      expect(requests.length).toBeGreaterThanOrEqual(3)
      expect(new Set(requests.map((request) => request.body)).size).toBe(1)
      expect(payloadOf(requests[0]!).id).toBe(id)
      for (const request of requests) expect(verifyWebhookSignature(secret, request)).toBe(true)
    }
    const kinds = [...byId.values()].map((requests) => payloadOf(requests[0]!)).map((p) => `${p.type} ${p.data.name}`)
    expect(kinds.sort()).toEqual([
      'document.changed notes',
      'document.changed scratch',
      'document.created notes',
      'document.created scratch',
      'document.deleted scratch',
    ])
    const changed = [...byId.values()]
      .map((requests) => payloadOf(requests[0]!))
      .find((p) => p.type === 'document.changed' && p.data.name === 'notes')!
    expect(changed.data.subjects).toEqual(['anonymous'])
    expect(changed.data.stateVector).toBe(Buffer.from(Y.encodeStateVector(notes)).toString('base64url'))
    expect(await metric(service, 'concord_webhook_delivery_failures_total')).toBeGreaterThanOrEqual(3 * events)
    expect(await metric(service, 'concord_webhook_deliveries_total')).toBeGreaterThanOrEqual(events)
    expect(await metric(service, 'concord_webhook_events_dead_total')).toBe(0)
    expect(await metric(service, 'concord_webhook_outbox_oldest_age_seconds')).toBe(0)
    expect(service.logLines.join('\n')).not.toContain(secret)
  }, 60_000)
})
