/**
 * The webhook delivery's retries: exponential backoff with jitter, and an
 * event that keeps failing past the maximum age is given up on and counted.
 */
import { describe, expect, it } from 'vitest'
import { MemoryDocStore, silentLogger, type OutboxEvent } from '@concord/relay'
import { waitFor } from '@concord/relay/testing'
import { WebhookReceiver } from './test/webhookReceiver.js'
import { retryDelayMs, WebhookDelivery } from './webhookDelivery.js'

describe('webhook retries', () => {
  it('doubles the wait after each failure, up to the cap, with half of it random', () => {
    const fixedHalf = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempts) => retryDelayMs(attempts, 1_000, 60_000, () => 0))
    expect(fixedHalf).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
    expect(retryDelayMs(3, 1_000, 60_000, () => 0.999_999)).toBe(4_000)
    expect(retryDelayMs(3, 1_000, 60_000, () => 0.5)).toBe(3_000)
    // However many attempts, the wait stays within the cap.
    expect(retryDelayMs(5_000, 1_000, 60_000, () => 0.999_999)).toBe(60_000)
  })

  it('gives up on an event that still fails past the maximum age, and counts it dead', async () => {
    const store = new MemoryDocStore()
    const receiver = await WebhookReceiver.create()
    receiver.mode = { status: 500 }
    let dead = 0
    let failed = 0
    const event: OutboxEvent = {
      id: 'evt-1',
      type: 'document.created',
      doc: 'doomed',
      time: Date.now(),
      subjects: [],
      stateVector: {},
      deliverAfter: 0,
      deliverBy: 0,
    }
    await store.append('doomed', Uint8Array.of(0, 0), [event])
    const delivery = new WebhookDelivery({
      outbox: store,
      urls: [receiver.url],
      secret: 's'.repeat(32),
      logger: silentLogger,
      observer: { dead: () => dead++, failed: () => failed++ },
      retryBaseMs: 20,
      retryMaxMs: 40,
      maxAgeMs: 300,
      pollIntervalMs: 10,
    })
    try {
      delivery.start()
      await waitFor(() => dead === 1, 'the event to die', 10_000)
      expect(failed).toBeGreaterThanOrEqual(2)
      expect(receiver.idsReceived()).toEqual(new Set(['evt-1']))
      expect(await store.outboxStats()).toEqual({ depth: 0, oldestAt: undefined })
    } finally {
      await delivery.stop()
      await receiver.stop()
    }
  })
})
