import { describe, expect, it } from 'vitest'
import { ManualClock } from './test/manualClock.js'
import { VersionPolicy } from './versionPolicy.js'

const setUp = (take?: (authors: string[]) => Promise<void>) => {
  const clock = new ManualClock()
  const taken: Array<{ at: number; authors: string[] }> = []
  const policy = new VersionPolicy({
    quietMs: 60_000,
    maxIntervalMs: 600_000,
    clock,
    take:
      take ??
      (async (authors) => {
        taken.push({ at: clock.time, authors })
      }),
  })
  return { clock, taken, policy }
}

describe('the automatic version policy', () => {
  it('takes a version once the document has been quiet for a minute after an edit, with its authors', async () => {
    const { clock, taken, policy } = setUp()
    policy.edited('ada')
    await clock.advance(30_000)
    policy.edited('bob')
    policy.edited('ada')
    policy.edited(undefined)
    await clock.advance(59_999)
    expect(taken).toEqual([])
    await clock.advance(1)
    expect(taken).toEqual([{ at: 90_000, authors: ['ada', 'bob'] }])
    expect(policy.dirty).toBe(false)
    // Nothing more without another edit.
    await clock.advance(3_600_000)
    expect(taken).toHaveLength(1)
    expect(clock.armed).toBe(0)
  })

  it('takes one every ten minutes while editing never pauses, each with only its own authors', async () => {
    const { clock, taken, policy } = setUp()
    for (let second = 0; second < 25 * 60; second++) {
      policy.edited(second < 600 ? 'ada' : 'bob')
      await clock.advance(1_000)
    }
    expect(taken).toEqual([
      { at: 600_000, authors: ['ada'] },
      { at: 1_200_000, authors: ['bob'] },
    ])
    await clock.advance(60_000)
    expect(taken.map((version) => version.at)).toEqual([600_000, 1_200_000, 1_559_000])
  })

  it('takes one at once when asked with unsaved edits, and none without', async () => {
    const { clock, taken, policy } = setUp()
    await policy.takeNow()
    expect(taken).toEqual([])
    policy.edited('ada')
    await policy.takeNow()
    expect(taken).toEqual([{ at: 0, authors: ['ada'] }])
    // The timers of that edit went with it.
    await clock.advance(3_600_000)
    expect(taken).toHaveLength(1)
  })

  it('hands the authors to a version taken by other means and starts afresh', async () => {
    const { clock, taken, policy } = setUp()
    policy.edited('ada')
    expect(policy.claim()).toEqual(['ada'])
    expect(policy.dirty).toBe(false)
    await clock.advance(3_600_000)
    expect(taken).toEqual([])
    policy.edited('bob')
    await clock.advance(60_000)
    expect(taken).toEqual([{ at: 3_660_000, authors: ['bob'] }])
  })

  it('keeps the edits after a version’s read unsaved, with their authors, for the next version', async () => {
    const { clock, taken, policy } = setUp()
    policy.edited('ada')
    policy.edited('bob')
    // A named version reads the state here; Bob writes again and Carol writes while it is computed.
    const read = policy.mark()
    await clock.advance(10_000)
    policy.edited('bob')
    policy.edited('carol')
    expect(policy.claim(read)).toEqual(['ada', 'bob'])
    expect(policy.dirty).toBe(true)
    // The edits after the read get their version once quiet, however the claim came in between.
    await clock.advance(60_000)
    expect(taken).toEqual([{ at: 70_000, authors: ['bob', 'carol'] }])
    expect(policy.dirty).toBe(false)
    // A mark older than the last version claims nothing.
    expect(policy.claim(read)).toEqual([])
  })

  it('keeps the edits unsaved when taking the version fails, and tries again after a quiet minute', async () => {
    let failures = 1
    const taken: string[][] = []
    const { clock, policy } = setUp(async (authors) => {
      if (failures-- > 0) throw new Error('the store is down')
      taken.push(authors)
    })
    policy.edited('ada')
    await clock.advance(60_000)
    expect(taken).toEqual([])
    expect(policy.dirty).toBe(true)
    policy.edited('bob')
    await clock.advance(60_000)
    expect(taken).toEqual([['ada', 'bob']])
  })

  it('takes versions one after another, never two at once', async () => {
    let running = 0
    let most = 0
    const releases: Array<() => void> = []
    const { policy } = setUp(async () => {
      most = Math.max(most, ++running)
      await new Promise<void>((resolve) => releases.push(resolve))
      running--
    })
    policy.edited('ada')
    const first = policy.takeNow()
    policy.edited('bob')
    const second = policy.takeNow()
    await new Promise((resolve) => setImmediate(resolve))
    expect(releases).toHaveLength(1)
    releases.shift()!()
    await first
    await new Promise((resolve) => setImmediate(resolve))
    releases.shift()!()
    await second
    expect(most).toBe(1)
  })

  it('arms its two timers once per version, not once per edit', async () => {
    const { clock, taken, policy } = setUp()
    let setTimeouts = 0
    const setTimeout = clock.setTimeout.bind(clock)
    clock.setTimeout = (callback, ms) => (setTimeouts++, setTimeout(callback, ms))
    for (let i = 0; i < 1000; i++) policy.edited('ada')
    expect(setTimeouts).toBe(2)
    await clock.advance(60_000)
    expect(taken).toHaveLength(1)
  })

  it('arms nothing once stopped', async () => {
    const { clock, taken, policy } = setUp()
    policy.edited('ada')
    policy.stop()
    policy.edited('bob')
    await clock.advance(3_600_000)
    expect(taken).toEqual([])
    expect(clock.armed).toBe(0)
  })
})
