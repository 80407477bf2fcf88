/**
 * Owns how long to wait before the next reconnect attempt: exponential
 * backoff with "equal jitter". Pure: no timers, and the randomness is
 * injectable so the sequence can be tested.
 *
 * Equal jitter, not full jitter: each delay is half the current ceiling plus
 * a random share of the other half. When a relay restarts, its clients'
 * retries still spread over half of each ceiling, but no client ever retries
 * at once (full jitter can draw a delay near 0 on any attempt, so a client
 * facing a relay that is down for minutes would sometimes hammer it), and a
 * UI can promise "retrying in at least N s".
 */

export interface BackoffOptions {
  /** The ceiling of the first delay. Default 500 ms. */
  readonly initialDelayMs?: number
  /** The ceiling never grows past this. Default 30 s. */
  readonly maxDelayMs?: number
  /** The ceiling is multiplied by this after every attempt. Default 2. */
  readonly factor?: number
  /** Returns a number in [0, 1). Default `Math.random`. */
  readonly random?: () => number
}

export interface Backoff {
  /** The delay before the next attempt, in ms; each call counts as one more failed attempt. */
  next(): number
  /** Starts over from the first delay, after a connection that worked. */
  reset(): void
}

export const createBackoff = ({
  initialDelayMs = 500,
  maxDelayMs = 30_000,
  factor = 2,
  random = Math.random,
}: BackoffOptions = {}): Backoff => {
  if (!(initialDelayMs > 0 && maxDelayMs >= initialDelayMs && factor >= 1)) {
    throw new RangeError('backoff needs 0 < initialDelayMs <= maxDelayMs and factor >= 1')
  }
  let ceiling = initialDelayMs
  return {
    next: () => {
      const delay = ceiling / 2 + (random() * ceiling) / 2
      ceiling = Math.min(maxDelayMs, ceiling * factor)
      return delay
    },
    reset: () => {
      ceiling = initialDelayMs
    },
  }
}
