/**
 * Owns the plan of one real-process run, drawn from its seed alone: the
 * writes (which replica, which edit) and the faults laid over them, each
 * fault as a start step and an end step some writes later. Running the plan
 * takes real time, so the interleaving with the network is not replayed
 * exactly; the plan is, and it is what a failure report prints.
 */
import { between, chance, createRandom, pick, randomWrite, type Random, type Write } from './workload.js'

export type LinkFault = 'cut' | 'stall' | 'delay'

export type Step =
  | { readonly kind: 'write'; readonly replica: number; readonly write: Write }
  | {
      readonly kind: 'partition'
      readonly replicas: readonly number[]
      readonly fault: LinkFault
      readonly delayMs: number
    }
  | { readonly kind: 'heal'; readonly replicas: readonly number[] }
  | { readonly kind: 'crashReplica'; readonly replica: number }
  | { readonly kind: 'restartReplica'; readonly replica: number }
  | { readonly kind: 'stopRelay'; readonly signal: 'SIGKILL' | 'SIGTERM' }
  | { readonly kind: 'restartRelay' }

export interface ScheduleOptions {
  readonly seed: number
  readonly replicas: number
  readonly ops: number
}

export const describeStep = (step: Step): string => {
  switch (step.kind) {
    case 'write':
      return `r${step.replica} write ${step.write.element} ${step.write.kind} (seed ${step.write.seed})`
    case 'partition':
      return `${step.fault}${step.fault === 'delay' ? ` ${step.delayMs} ms` : ''} links of [${step.replicas.join(',')}]`
    case 'heal':
      return `heal links of [${step.replicas.join(',')}]`
    case 'crashReplica':
      return `SIGKILL r${step.replica}`
    case 'restartReplica':
      return `restart r${step.replica}`
    case 'stopRelay':
      return `${step.signal} the relay`
    case 'restartRelay':
      return 'restart the relay'
  }
}

/** `count` faults, one per equal segment of the run so they spread over it; each lasts part of its segment. */
const spread = (random: Random, ops: number, count: number): Array<{ start: number; end: number }> => {
  const segment = Math.floor(ops / count)
  return Array.from({ length: count }, (_, i) => {
    const start = i * segment + between(random, 0, Math.floor(segment / 2))
    return { start, end: Math.min(ops, start + between(random, Math.ceil(segment / 8), Math.ceil(segment / 2))) }
  })
}

export const createSchedule = ({ seed, replicas, ops }: ScheduleOptions): Step[] => {
  const random = createRandom(seed)
  const at = new Map<number, Step[]>()
  const add = (position: number, step: Step): void => {
    const steps = at.get(position)
    if (steps) steps.push(step)
    else at.set(position, [step])
  }
  const everyone = [...Array(replicas).keys()]

  for (const { start, end } of spread(random, ops, Math.max(5, Math.round(ops / 300)))) {
    const cut = everyone.filter(() => chance(random, 0.4))
    if (cut.length === 0) cut.push(pick(random, everyone))
    const fault: LinkFault = pick(random, ['cut', 'cut', 'stall'] as const)
    add(start, { kind: 'partition', replicas: cut, fault, delayMs: 0 })
    add(end, { kind: 'heal', replicas: cut })
  }
  for (const { start, end } of spread(random, ops, Math.max(2, Math.round(ops / 1000)))) {
    const slow = [pick(random, everyone)]
    add(start, { kind: 'partition', replicas: slow, fault: 'delay', delayMs: between(random, 5, 200) })
    add(end, { kind: 'heal', replicas: slow })
  }
  // Every other stop is a SIGKILL, so even a short run crashes the relay at least twice.
  for (const [i, { start, end }] of spread(random, ops, Math.max(4, Math.round(ops / 500))).entries()) {
    add(start, { kind: 'stopRelay', signal: i % 2 === 0 || chance(random, 0.5) ? 'SIGKILL' : 'SIGTERM' })
    add(end, { kind: 'restartRelay' })
  }
  for (const { start, end } of spread(random, ops, Math.max(2, Math.round(ops / 500)))) {
    const replica = pick(random, everyone)
    add(start, { kind: 'crashReplica', replica })
    add(end, { kind: 'restartReplica', replica })
  }

  const steps: Step[] = []
  for (let i = 0; i <= ops; i++) {
    steps.push(...(at.get(i) ?? []))
    if (i < ops)
      steps.push({
        kind: 'write',
        replica: between(random, 0, replicas - 1),
        write: randomWrite(random, `s${seed}.${i}`),
      })
  }
  return steps
}
