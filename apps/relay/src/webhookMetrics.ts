/**
 * Owns the webhook delivery's Prometheus metrics, registered beside the
 * relay's (see metrics.ts): requests delivered and failed, events given up
 * on, and the outbox's depth and the age of its oldest event, read from the
 * store at each scrape. No label names a URL: one may carry a receiver's token.
 */
import type { OutboxStats } from '@concord/relay'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { WebhookObserver } from './webhookDelivery.js'

export const createWebhookMetrics = (registry: Registry, outboxStats: () => Promise<OutboxStats>): WebhookObserver => {
  const registers = [registry]
  const delivered = new Counter({
    name: 'concord_webhook_deliveries_total',
    help: 'Webhook requests a receiver answered with 2xx',
    registers,
  })
  const failed = new Counter({
    name: 'concord_webhook_delivery_failures_total',
    help: 'Webhook requests that failed: no answer, a timeout, or a status other than 2xx (each is retried)',
    registers,
  })
  const dead = new Counter({
    name: 'concord_webhook_events_dead_total',
    help: 'Webhook events given up on: still failing past the maximum age',
    registers,
  })
  // Read once per scrape, for both gauges.
  let stats: Promise<OutboxStats> | undefined
  const current = (): Promise<OutboxStats> =>
    (stats ??= outboxStats().finally(() => setImmediate(() => (stats = undefined))))
  new Gauge({
    name: 'concord_webhook_outbox_depth',
    help: 'Webhook events in the outbox, not yet delivered (in cluster mode: of every relay)',
    registers,
    async collect() {
      this.set((await current()).depth)
    },
  })
  new Gauge({
    name: 'concord_webhook_outbox_oldest_age_seconds',
    help: 'Age of the oldest webhook event in the outbox, from its first change (0 when it is empty)',
    registers,
    async collect() {
      const { oldestAt } = await current()
      this.set(oldestAt === undefined ? 0 : Math.max(0, (Date.now() - oldestAt) / 1000))
    },
  })
  return { delivered: () => delivered.inc(), failed: () => failed.inc(), dead: () => dead.inc() }
}
