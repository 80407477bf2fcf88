import { describe, expect, it } from 'vitest'
import { GroupCommit, type Refusals } from './groupCommit.js'

/** A commit the test settles by hand, as a store's transaction would settle later. */
interface HeldCommit {
  readonly batch: string[]
  readonly durable: (refusals?: Refusals) => void
  readonly fail: (error: unknown) => void
}

/** A GroupCommit whose commits wait for the test: each one started is in `commits`. */
const heldGroupCommit = (): { queue: GroupCommit<string>; commits: HeldCommit[] } => {
  const commits: HeldCommit[] = []
  const queue = new GroupCommit<string>(
    (batch) =>
      new Promise((resolve, reject) => {
        commits.push({ batch, durable: resolve, fail: reject })
      }),
  )
  return { queue, commits }
}

/** Resolves after the turn's setImmediate callbacks, where a batch starts. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** 'pending', 'resolved' or the rejection's message, once the microtasks queued so far have run. */
const stateOf = async (promise: Promise<void>): Promise<string> => {
  let state = 'pending'
  promise.then(
    () => (state = 'resolved'),
    (error: Error) => (state = error.message),
  )
  await nextTurn()
  return state
}

describe('GroupCommit', () => {
  it('commits the appends of one turn as one batch and resolves them only once it is durable', async () => {
    const { queue, commits } = heldGroupCommit()
    const appends = [queue.add('a'), queue.add('b'), queue.add('c')]
    expect(commits).toHaveLength(0)
    await nextTurn()
    expect(commits.map((commit) => commit.batch)).toEqual([['a', 'b', 'c']])
    expect(await Promise.all(appends.map(stateOf))).toEqual(['pending', 'pending', 'pending'])
    commits[0]!.durable()
    expect(await Promise.all(appends.map(stateOf))).toEqual(['resolved', 'resolved', 'resolved'])
  })

  it('keeps the appends made while a commit is in flight for the next one, started once it settles', async () => {
    const { queue, commits } = heldGroupCommit()
    const first = queue.add('a')
    await nextTurn()
    const second = [queue.add('b'), queue.add('c')]
    await nextTurn()
    expect(commits).toHaveLength(1)
    commits[0]!.durable()
    expect(await stateOf(first)).toBe('resolved')
    expect(commits.map((commit) => commit.batch)).toEqual([['a'], ['b', 'c']])
    expect(await Promise.all(second.map(stateOf))).toEqual(['pending', 'pending'])
    commits[1]!.durable()
    expect(await Promise.all(second.map(stateOf))).toEqual(['resolved', 'resolved'])
  })

  it('fails every append of a batch whose commit fails, and commits the next batch as usual', async () => {
    const { queue, commits } = heldGroupCommit()
    const failed = [queue.add('a'), queue.add('b')]
    await nextTurn()
    const next = queue.add('c')
    commits[0]!.fail(new Error('disk full'))
    expect(await Promise.all(failed.map(stateOf))).toEqual(['disk full', 'disk full'])
    expect(commits[1]!.batch).toEqual(['c'])
    commits[1]!.durable()
    expect(await stateOf(next)).toBe('resolved')
  })

  it('fails the batch when the commit throws before it returns a promise', async () => {
    const queue = new GroupCommit<string>(() => {
      throw new Error('cannot start')
    })
    const appends = [queue.add('a'), queue.add('b')]
    expect(await Promise.all(appends.map(stateOf))).toEqual(['cannot start', 'cannot start'])
    const later = queue.add('c')
    expect(await stateOf(later)).toBe('cannot start')
  })

  it('rejects only the appends the commit refused, each with its own error', async () => {
    const { queue, commits } = heldGroupCommit()
    const appends = [queue.add('a'), queue.add('gone'), queue.add('b'), queue.add('gone too')]
    await nextTurn()
    commits[0]!.durable(
      new Map([
        [1, new Error('removed: gone')],
        [3, new Error('removed: gone too')],
      ]),
    )
    expect(await Promise.all(appends.map(stateOf))).toEqual([
      'resolved',
      'removed: gone',
      'resolved',
      'removed: gone too',
    ])
  })

  it('commits what is queued at once on commitNow, even while a commit is in flight', async () => {
    const { queue, commits } = heldGroupCommit()
    const first = queue.add('a')
    queue.commitNow()
    // Started before the turn ended, and not again when it does.
    expect(commits.map((commit) => commit.batch)).toEqual([['a']])
    const second = queue.add('b')
    queue.commitNow()
    expect(commits.map((commit) => commit.batch)).toEqual([['a'], ['b']])
    await nextTurn()
    expect(commits).toHaveLength(2)
    commits[1]!.durable()
    commits[0]!.durable()
    expect(await Promise.all([first, second].map(stateOf))).toEqual(['resolved', 'resolved'])
    await nextTurn()
    expect(commits).toHaveLength(2)
  })

  it('does nothing on commitNow with nothing queued', async () => {
    const { queue, commits } = heldGroupCommit()
    queue.commitNow()
    await nextTurn()
    expect(commits).toHaveLength(0)
  })

  it('settles once every append added before has settled, failed ones included, and not before', async () => {
    const { queue, commits } = heldGroupCommit()
    void queue.add('a').catch(() => {})
    await nextTurn()
    void queue.add('b')
    const settled = queue.settled()
    const later = queue.add('c')
    commits[0]!.fail(new Error('lost'))
    expect(await stateOf(settled)).toBe('pending')
    commits[1]!.durable()
    expect(await stateOf(settled)).toBe('resolved')
    expect(await stateOf(later)).toBe('resolved')
    expect(commits.map((commit) => commit.batch)).toEqual([['a'], ['b', 'c']])
    expect(await stateOf(queue.settled())).toBe('resolved')
  })

  it('settles at once when nothing was added', async () => {
    const { queue } = heldGroupCommit()
    expect(await stateOf(queue.settled())).toBe('resolved')
  })
})
