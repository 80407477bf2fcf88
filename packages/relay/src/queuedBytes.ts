/**
 * Owns the relay-wide count of bytes held in frames that wait for their
 * document to load (see Room): every room takes from it and gives back, so
 * that a store that hangs while clients keep sending cannot grow the relay's
 * memory past `max`, whatever the number of rooms and peers.
 */
export class QueuedBytes {
  #total = 0

  constructor(readonly max: number) {}

  /** Bytes queued in every room now. */
  get total(): number {
    return this.#total
  }

  /** Takes `bytes` if they fit under the cap; false (taking nothing) if they do not. */
  take(bytes: number): boolean {
    if (this.#total + bytes > this.max) return false
    this.#total += bytes
    return true
  }

  give(bytes: number): void {
    this.#total -= bytes
  }
}
