/**
 * Owns sending the store's webhook outbox to the receivers: it claims due
 * events (leased, so a relay of a cluster that claims one is the only one
 * sending it while the lease runs), POSTs each to every URL, acks it once
 * every URL answered 2xx, and otherwise retries it later with exponential
 * backoff and jitter, until the event is older than the maximum age: then it
 * is dropped and counted as dead. Events are acked only after delivery, so a
 * relay that dies meanwhile leaves them to be claimed again when the lease
 * runs out: at least once, with the same id each time.
 */
import type { ClaimedOutboxEvent, DocStoreOutbox, Logger } from '@concord/relay'
import { webhookPayload } from './webhookPayload.js'
import { signWebhook, webhookHeaders } from './webhookSignature.js'

export interface WebhookObserver {
  /** A receiver answered 2xx. */
  delivered?(): void
  /** A request failed: no answer, a timeout, or a status other than 2xx. */
  failed?(): void
  /** An event was given up on: past the maximum age, and not delivered to every URL. */
  dead?(): void
}

export interface WebhookDeliveryOptions {
  readonly outbox: DocStoreOutbox
  readonly urls: readonly string[]
  readonly secret: string
  readonly logger: Logger
  readonly observer?: WebhookObserver
  /** A request not answered within this fails. Default: 10 s. */
  readonly requestTimeoutMs?: number
  /** The first retry waits about this long; each next one twice as long. Default: 1 s. */
  readonly retryBaseMs?: number
  /** ... but never longer than this. Default: 5 min. */
  readonly retryMaxMs?: number
  /** An event this old (from its first change) that still fails is dead. Default: 24 h. */
  readonly maxAgeMs?: number
  /** How often the outbox is asked for due events when it had none. Default: 500 ms. */
  readonly pollIntervalMs?: number
  /** Events claimed (and sent at once) per round. Default: 16. */
  readonly batchSize?: number
  /** For tests of the backoff: a number in [0, 1). Default: Math.random. */
  readonly random?: () => number
}

export const webhookDefaults = {
  requestTimeoutMs: 10_000,
  retryBaseMs: 1_000,
  retryMaxMs: 5 * 60_000,
  maxAgeMs: 24 * 60 * 60_000,
  pollIntervalMs: 500,
  batchSize: 16,
} as const

/**
 * How long the `attempts`-th failure waits before the next try: base * 2^(attempts-1), capped, with
 * "equal jitter" (half of it fixed, half random), so that receivers coming back are not hit by every
 * relay's retries at once, and a retry never comes much sooner than the backoff says.
 */
export const retryDelayMs = (attempts: number, baseMs: number, maxMs: number, random: () => number): number => {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30))
  return Math.round(delay / 2 + (random() * delay) / 2)
}

export class WebhookDelivery {
  readonly #options: Required<Omit<WebhookDeliveryOptions, 'observer'>> & { observer: WebhookObserver }
  /** The URLs that answered 2xx for an event this relay is still retrying: not sent to again from here. */
  readonly #deliveredTo = new Map<string, Set<string>>()
  readonly #inFlight = new Map<string, AbortController>()
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #stopped = false

  constructor(options: WebhookDeliveryOptions) {
    this.#options = { ...webhookDefaults, random: Math.random, observer: {}, ...options }
  }

  /** Starts claiming and sending; resolves at once. */
  start(): void {
    this.#schedule(0)
  }

  /** Stops; requests in flight are aborted and their events made due again, so the next relay or start sends them. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    for (const controller of this.#inFlight.values()) controller.abort()
    await this.#round
  }

  /**
   * A lease long enough for one event's requests (sent to every URL at once, each given up on after the
   * timeout) and the ack, with room to spare; after it, an event whose relay died is claimed again.
   */
  get #leaseMs(): number {
    return this.#options.requestTimeoutMs + 5_000
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#round = this.#runRound().then((more) => this.#schedule(more ? 0 : this.#options.pollIntervalMs))
    }, delayMs)
    this.#timer.unref()
  }

  /** One claim and its deliveries; resolves true when the claim was full (more may be due). */
  async #runRound(): Promise<boolean> {
    const { outbox, batchSize, logger } = this.#options
    let claimed: ClaimedOutboxEvent[]
    try {
      claimed = await outbox.claimOutbox({ now: Date.now(), leaseMs: this.#leaseMs, limit: batchSize })
    } catch (error) {
      logger.warn({ err: error }, 'could not claim webhook events')
      return false
    }
    await Promise.all(claimed.map((event) => this.#deliver(event)))
    return claimed.length === batchSize && !this.#stopped
  }

  async #deliver(event: ClaimedOutboxEvent): Promise<void> {
    const { outbox, urls, logger, observer } = this.#options
    const body = JSON.stringify(webhookPayload(event))
    const done = this.#deliveredTo.get(event.id) ?? new Set<string>()
    const controller = new AbortController()
    this.#inFlight.set(event.id, controller)
    let results: boolean[]
    try {
      results = await Promise.all(
        urls.map((url) => (done.has(url) ? true : this.#post(url, event.id, body, controller.signal))),
      )
    } finally {
      this.#inFlight.delete(event.id)
    }
    urls.forEach((url, i) => results[i] && done.add(url))
    try {
      if (done.size === urls.length) {
        this.#deliveredTo.delete(event.id)
        await outbox.ackOutbox([event.id])
        return
      }
      if (this.#stopped) {
        // Due again at once: whoever runs next sends it (to every URL: what this relay knew is lost).
        this.#deliveredTo.delete(event.id)
        await outbox.retryOutbox(event.id, Date.now())
        return
      }
      if (Date.now() - event.createdAt >= this.#options.maxAgeMs) {
        this.#deliveredTo.delete(event.id)
        await outbox.ackOutbox([event.id])
        observer.dead?.()
        logger.error(
          { event: event.id, type: event.type, doc: event.doc, attempts: event.attempts },
          'a webhook event was given up on: it failed for longer than the maximum age',
        )
        return
      }
      this.#deliveredTo.set(event.id, done)
      const delay = retryDelayMs(
        event.attempts,
        this.#options.retryBaseMs,
        this.#options.retryMaxMs,
        this.#options.random,
      )
      await outbox.retryOutbox(event.id, Date.now() + delay)
    } catch (error) {
      // The lease runs out and the event is claimed again: sent twice at worst, never lost.
      logger.warn({ err: error, event: event.id }, 'could not record the outcome of a webhook delivery')
    }
  }

  /** One signed POST; resolves true for a 2xx answer. */
  async #post(url: string, id: string, body: string, signal: AbortSignal): Promise<boolean> {
    const { secret, requestTimeoutMs, logger, observer } = this.#options
    const timestamp = Math.floor(Date.now() / 1000)
    // One controller and a plain timer: a timeout signal inside AbortSignal.any can be collected
    // before it fires, and then a slow receiver is waited for without end.
    const request = new AbortController()
    const timer = setTimeout(
      () => request.abort(new Error(`no answer within ${requestTimeoutMs} ms`)),
      requestTimeoutMs,
    )
    const stop = () => request.abort(new Error('the delivery stopped'))
    signal.addEventListener('abort', stop, { once: true })
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'concord-relay-webhooks',
          [webhookHeaders.id]: id,
          [webhookHeaders.timestamp]: String(timestamp),
          [webhookHeaders.signature]: signWebhook(secret, id, timestamp, body),
        },
        body,
        signal: request.signal,
        redirect: 'manual',
      })
      // The answer's body is not wanted; read it so that the connection can be reused.
      await response.arrayBuffer().catch(() => {})
      // An answer that came after the timeout counts as none (the receiver may still have it: a duplicate).
      if (request.signal.aborted) throw request.signal.reason
      if (response.status >= 200 && response.status < 300) {
        observer.delivered?.()
        return true
      }
      observer.failed?.()
      logger.warn({ event: id, status: response.status }, 'a webhook receiver refused an event')
      return false
    } catch (error) {
      observer.failed?.()
      // The URL is not logged: it may carry a token of the receiver's.
      logger.warn({ event: id, err: error }, 'a webhook request failed')
      return false
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', stop)
    }
  }
}
