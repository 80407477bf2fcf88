/**
 * The webhook signature as a receiver checks it, computed here independently
 * of the service's code: HMAC-SHA256 of `id.timestamp.body` with the secret.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signWebhook, verifyWebhookSignature } from './webhookSignature.js'

const secret = 'a webhook secret that is long enough to sign'
const id = '0b7c7a4e-6a47-4f3e-9d59-2f3b1c8d6e21'
const body = '{"id":"0b7c7a4e-6a47-4f3e-9d59-2f3b1c8d6e21","type":"document.deleted"}'
const now = 1_800_000_000

describe('webhook signatures', () => {
  it('is v1= and the hex HMAC-SHA256 of id.timestamp.body', () => {
    const expected = createHmac('sha256', secret).update(`${id}.${now}.${body}`).digest('hex')
    expect(signWebhook(secret, id, now, body)).toBe(`v1=${expected}`)
  })

  it('verifies a signed request, and refuses one changed in any part, too old, or signed with another secret', () => {
    const signature = signWebhook(secret, id, now, body)
    const request = { id, timestamp: String(now), signature, body }
    expect(verifyWebhookSignature(secret, request, { nowSeconds: now + 10 })).toBe(true)
    expect(
      verifyWebhookSignature(secret, { ...request, body: body.replace('deleted', 'created') }, { nowSeconds: now }),
    ).toBe(false)
    expect(verifyWebhookSignature(secret, { ...request, id: `${id}x` }, { nowSeconds: now })).toBe(false)
    expect(verifyWebhookSignature(secret, { ...request, timestamp: String(now + 1) }, { nowSeconds: now })).toBe(false)
    expect(verifyWebhookSignature(`${secret}!`, request, { nowSeconds: now })).toBe(false)
    expect(verifyWebhookSignature(secret, { ...request, signature: undefined }, { nowSeconds: now })).toBe(false)
    // A replay after the tolerance (5 minutes by default) is refused though its signature is right.
    expect(verifyWebhookSignature(secret, request, { nowSeconds: now + 301 })).toBe(false)
  })
})
