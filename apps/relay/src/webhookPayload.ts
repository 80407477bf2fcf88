/**
 * Owns the body of a webhook request: one event as JSON. The body is built
 * from the outbox row alone, so every retry of an event sends the same bytes.
 */
import { encodeStateVectorClocks, type ClaimedOutboxEvent, type WebhookEventType } from '@concord/relay'

export interface WebhookPayload {
  readonly id: string
  readonly type: WebhookEventType
  /** When the (latest) change happened, ISO 8601. */
  readonly time: string
  readonly data: {
    readonly name: string
    /** Who wrote (token subjects; `server` or `api` for the relay's own writers); `document.deleted`: who deleted. */
    readonly subjects: readonly string[]
    /** `document.changed` only: the document's state vector after the change, base64url (as `?stateVector=` takes it). */
    readonly stateVector?: string
  }
}

export const webhookPayload = (event: ClaimedOutboxEvent): WebhookPayload => ({
  id: event.id,
  type: event.type,
  time: new Date(event.time).toISOString(),
  data: {
    name: event.doc,
    subjects: event.subjects,
    ...(event.type === 'document.changed' && {
      stateVector: Buffer.from(encodeStateVectorClocks(event.stateVector)).toString('base64url'),
    }),
  },
})
