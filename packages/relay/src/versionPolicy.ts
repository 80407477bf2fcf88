/**
 * Owns when a document's automatic versions are taken: once it has been quiet for `quietMs` after
 * an edit, at the latest `maxIntervalMs` after the first edit since the last version (so continuous
 * editing still gets one that often), and on demand (`takeNow`, when the document unloads with
 * edits no version holds). It keeps who wrote since the last version. Time comes from a clock the
 * caller gives, so tests drive it; taking the version is the caller's (`take`).
 */

/** Time and timers for the policy; `systemClock` is Node's, its timers unref'd so that they never hold the process. */
export interface VersionClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(timer: unknown): void
}

export const systemClock: VersionClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
}

export interface VersionPolicyOptions {
  readonly quietMs: number
  readonly maxIntervalMs: number
  readonly clock: VersionClock
  /**
   * Takes a version of the document as it is now, written by `authors` since the last one.
   * A rejection keeps the edits unsaved (and their authors): the policy tries again after `quietMs`.
   */
  readonly take: (authors: string[]) => Promise<void>
}

export class VersionPolicy {
  readonly #options: VersionPolicyOptions
  /** Who wrote since the last version; their edits are unsaved while `#dirty`. */
  #authors = new Set<string>()
  #dirty = false
  #quietTimer: unknown
  /** When the last edit was made: the quiet timer, armed once, checks it rather than being re-armed per edit. */
  #lastEditAt = 0
  #intervalTimer: unknown
  /** The version being taken, if any: the next waits for it. */
  #taking: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(options: VersionPolicyOptions) {
    this.#options = options
  }

  /** True while edits were made that no version holds yet. */
  get dirty(): boolean {
    return this.#dirty
  }

  /** An edit was stored, by `by` (a token subject) when known. Called for every stored update: cheap. */
  edited(by: string | undefined): void {
    if (this.#stopped) return
    if (by !== undefined) this.#authors.add(by)
    const { clock, maxIntervalMs } = this.#options
    this.#lastEditAt = clock.now()
    if (this.#dirty) return
    this.#dirty = true
    this.#intervalTimer = clock.setTimeout(() => void this.takeNow(), maxIntervalMs)
    this.#armQuiet(this.#options.quietMs)
  }

  /** Fires `ms` from now; takes the version if no edit came since, or waits out the rest of the quiet period. */
  #armQuiet(ms: number): void {
    const { clock, quietMs } = this.#options
    this.#quietTimer = clock.setTimeout(() => {
      const quietFor = clock.now() - this.#lastEditAt
      if (quietFor >= quietMs) void this.takeNow()
      else this.#armQuiet(quietMs - quietFor)
    }, ms)
  }

  /**
   * Takes a version now if edits are unsaved; resolves once it is taken (or failed, which the
   * policy handles), and at once when nothing is unsaved and no version is being taken.
   */
  takeNow(): Promise<void> {
    if (!this.#dirty) return this.#taking
    const authors = this.#claim()
    const take = this.#taking.then(() => this.#options.take(authors))
    this.#taking = take.catch(() => {
      // Nothing was saved: the edits are unsaved again, with their authors, and retried later.
      for (const author of authors) this.#authors.add(author)
      if (!this.#dirty && !this.#stopped) this.edited(undefined)
    })
    return this.#taking
  }

  /**
   * A version was taken by other means (a named one) that holds every edit so far: returns who
   * wrote since the last version and starts afresh.
   */
  claim(): string[] {
    return this.#claim()
  }

  /** Arms nothing more; a version being taken goes on. */
  stop(): void {
    this.#stopped = true
    this.#disarm()
  }

  #claim(): string[] {
    const authors = [...this.#authors].sort()
    this.#authors.clear()
    this.#dirty = false
    this.#disarm()
    return authors
  }

  #disarm(): void {
    this.#options.clock.clearTimeout(this.#quietTimer)
    this.#options.clock.clearTimeout(this.#intervalTimer)
    this.#quietTimer = this.#intervalTimer = undefined
  }
}
