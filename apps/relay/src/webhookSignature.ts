/**
 * Owns how a webhook request proves where it comes from: the headers it
 * carries and the signature in one of them, HMAC-SHA256 with the webhook
 * secret over `id.timestamp.body`, so that neither the body nor the id nor
 * the time can be changed or replayed later without the receiver noticing.
 * docs/webhooks.md shows a receiver's check; `verifyWebhookSignature` is it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const webhookHeaders = {
  /** The event's id: the same on every retry, for the receiver to drop duplicates. */
  id: 'concord-webhook-id',
  /** When this attempt was signed, in whole seconds since the epoch. */
  timestamp: 'concord-webhook-timestamp',
  /** `v1=` and the hex HMAC-SHA256 of `id.timestamp.body`. */
  signature: 'concord-webhook-signature',
} as const

export const signWebhook = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1=${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')}`

export interface SignedWebhook {
  readonly id: string | undefined
  readonly timestamp: string | undefined
  readonly signature: string | undefined
  readonly body: string
}

/**
 * True when the signature is the secret's for this id, timestamp and body, and the timestamp is
 * within `toleranceSeconds` of `nowSeconds` (default: 5 minutes of this machine's clock).
 */
export const verifyWebhookSignature = (
  secret: string,
  { id, timestamp, signature, body }: SignedWebhook,
  { toleranceSeconds = 300, nowSeconds = Date.now() / 1000 } = {},
): boolean => {
  if (id === undefined || timestamp === undefined || signature === undefined || !/^\d+$/.test(timestamp)) {
    return false
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false
  const expected = Buffer.from(signWebhook(secret, id, Number(timestamp), body))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
