/**
 * Owns a token bucket: `ratePerSecond` tokens flow in, up to `capacity`.
 * Taking more than there is leaves a debt, and says how long until it is
 * paid; the relay stops reading from a connection for that long.
 */
export class TokenBucket {
  #tokens: number
  #updatedAt: number

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0 && capacity > 0)) throw new RangeError('a token bucket needs a positive rate and capacity')
    this.#tokens = capacity
    this.#updatedAt = now()
  }

  /** Takes `amount` tokens; returns 0 when they were there, else the ms until the debt is paid. */
  take(amount: number): number {
    const now = this.now()
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#updatedAt) * this.ratePerSecond) / 1000)
    this.#updatedAt = now
    this.#tokens -= amount
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.ratePerSecond)
  }
}
