import { describe, expect, it } from 'vitest'
import { createSchedule, type Step } from './schedule.js'

/** The first-round steps, without the fields the flags add. */
const firstRound = (steps: readonly Step[]): unknown[] =>
  steps.flatMap((step): unknown[] => {
    if (step.kind === 'write') return [{ kind: 'write', write: step.write }]
    if (step.kind === 'stopRelay') return [{ kind: step.kind, signal: step.signal }]
    if (step.kind === 'restartRelay') return [{ kind: step.kind }]
    const added = ['hostile', 'lifecycle', 'killTab', 'moveReplica', 'cluster', 'localStoreFault', 'relayStoreFault']
    if (added.includes(step.kind)) return []
    return [step]
  })

describe('createSchedule', () => {
  it('is the same for the same seed', () => {
    const features = { hostile: true, lifecycles: true, stock: 1, relays: 3 }
    expect(createSchedule({ seed: 4, replicas: 3, ops: 500, features })).toEqual(
      createSchedule({ seed: 4, replicas: 3, ops: 500, features }),
    )
  })

  it("keeps a seed's first-round faults and writes when the new flags are on", () => {
    const plain = createSchedule({ seed: 9, replicas: 4, ops: 800 })
    const flagged = createSchedule({
      seed: 9,
      replicas: 4,
      ops: 800,
      features: { hostile: true, lifecycles: true, relays: 2, storage: true, readers: true },
    })
    expect(firstRound(flagged)).toEqual(firstRound(plain))
    expect(flagged.some((step) => step.kind === 'lifecycle')).toBe(true)
    expect(flagged.some((step) => step.kind === 'cluster' && step.target === 'redis')).toBe(true)
    expect(new Set(flagged.flatMap((step) => (step.kind === 'write' ? [step.doc] : [])))).toEqual(new Set([0, 1, 2]))
  })

  it('sends some writes to the stock replicas with --mixed', () => {
    const steps = createSchedule({ seed: 2, replicas: 3, ops: 400, features: { stock: 2 } })
    const writers = new Set(steps.flatMap((step) => (step.kind === 'write' ? [step.replica] : [])))
    expect(writers).toEqual(new Set([0, 1, 2, 3, 4]))
    // Stock replicas are never crashed: they have no store to come back from.
    expect(steps.every((step) => step.kind !== 'crashReplica' || step.replica < 3)).toBe(true)
  })
})
