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

/** Who wrote since the last version: the numbers of their first and last edits still unsaved. */
interface AuthorEdits {
  first: number
  last: number
}

export class VersionPolicy {
  readonly #options: VersionPolicyOptions
  /** How many edits were stored so far; each edit's number is the count once it is counted. */
  #edits = 0
  /** Edits up to this number are held by a version (or by one being taken); those after it are unsaved. */
  #savedUpTo = 0
  /** Who wrote the unsaved edits. */
  readonly #authors = new Map<string, AuthorEdits>()
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
    return this.#edits > this.#savedUpTo
  }

  /**
   * The edits stored so far, as a mark to give `claim` once a version's state is read: a version
   * holds the edits stored before its read, and perhaps some after, never fewer.
   */
  mark(): number {
    return this.#edits
  }

  /** True when edits up to `mark` are unsaved: a claim of it would claim something. */
  unsavedUpTo(mark: number): boolean {
    return mark > this.#savedUpTo
  }

  /** An edit was stored, by `by` (a token subject) when known. Called for every stored update: cheap. */
  edited(by: string | undefined): void {
    if (this.#stopped) return
    const wasDirty = this.dirty
    const edit = ++this.#edits
    if (by !== undefined) {
      const author = this.#authors.get(by)
      if (author) author.last = edit
      else this.#authors.set(by, { first: edit, last: edit })
    }
    this.#lastEditAt = this.#options.clock.now()
    if (!wasDirty) this.#arm()
  }

  /** The first unsaved edit since a version: the latest a version may come is `maxIntervalMs` from now. */
  #arm(): void {
    const { clock, maxIntervalMs, quietMs } = this.#options
    this.#intervalTimer = clock.setTimeout(() => void this.takeNow(), maxIntervalMs)
    this.#armQuiet(Math.max(0, quietMs - (clock.now() - this.#lastEditAt)))
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
    if (!this.dirty) return this.#taking
    // Claimed before the state is read (after the version before it): it holds at least these edits.
    const authors = this.#claim(this.#edits)
    const take = this.#taking.then(() => this.#options.take(authors))
    this.#taking = take.catch(() => this.unsaved(authors))
    return this.#taking
  }

  /**
   * A version was taken by other means (a named one) whose state was read when the policy's `mark()`
   * was `upTo` (default: now): returns who wrote the edits up to it, and keeps those after it
   * unsaved, their timers running on. A mark older than the last claim claims nothing more.
   */
  claim(upTo: number = this.#edits): string[] {
    return this.#claim(upTo)
  }

  /** A version that claimed `authors` was not saved: its edits are unsaved again, and retried later. */
  unsaved(authors: readonly string[]): void {
    if (this.#stopped) return
    const wasDirty = this.dirty
    const edit = ++this.#edits
    // Retried after a quiet period from now, as if the edits were made again.
    this.#lastEditAt = this.#options.clock.now()
    for (const by of authors) {
      const author = this.#authors.get(by)
      if (author) author.last = Math.max(author.last, edit)
      else this.#authors.set(by, { first: edit, last: edit })
    }
    if (!wasDirty) this.#arm()
  }

  /** Arms nothing more; a version being taken goes on. */
  stop(): void {
    this.#stopped = true
    this.#disarm()
  }

  #claim(upTo: number): string[] {
    if (upTo <= this.#savedUpTo) return []
    this.#savedUpTo = Math.min(upTo, this.#edits)
    const authors: string[] = []
    for (const [by, author] of this.#authors) {
      if (author.first > upTo) continue
      authors.push(by)
      // Wrote after the mark too: still an author of the unsaved edits.
      if (author.last > upTo) author.first = upTo + 1
      else this.#authors.delete(by)
    }
    if (!this.dirty) this.#disarm()
    return authors.sort()
  }

  #disarm(): void {
    this.#options.clock.clearTimeout(this.#quietTimer)
    this.#options.clock.clearTimeout(this.#intervalTimer)
    this.#quietTimer = this.#intervalTimer = undefined
  }
}
