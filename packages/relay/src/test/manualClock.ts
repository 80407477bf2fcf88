/**
 * Owns a clock for tests of timed policies (see versionPolicy.ts): time moves only when the test
 * says, firing the timers due on the way in order, each given a turn to settle what it started.
 */
import type { VersionClock } from '../versionPolicy.js'

export class ManualClock implements VersionClock {
  time = 0

  now(): number {
    return this.time
  }
  readonly #timers = new Map<number, { at: number; callback: () => void }>()
  #nextId = 0

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.#nextId
    this.#timers.set(id, { at: this.time + ms, callback })
    return id
  }

  clearTimeout(timer: unknown): void {
    this.#timers.delete(timer as number)
  }

  /** Moves time on by `ms`, firing each timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      this.#timers.delete(due[0])
      this.time = due[1].at
      due[1].callback()
      // Lets the version the timer started settle before time moves on.
      await new Promise((resolve) => setImmediate(resolve))
    }
    this.time = end
  }

  get armed(): number {
    return this.#timers.size
  }
}
