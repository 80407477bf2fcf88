/**
 * Owns the plan of one real-process run, drawn from its seed alone: the
 * writes (which replica, which edit) and the faults laid over them, each
 * fault as a start step and an end step some writes later. Running the plan
 * takes real time, so the interleaving with the network is not replayed
 * exactly; the plan is, and it is what a failure report prints.
 */
import { defaultHostileActions, type HostileAction } from './hostileWriter.js'
import type { Lifecycle } from './replicaMessages.js'
import type { DocStoreFault, LocalStoreFault } from './storageFaults.js'
import { between, chance, createRandom, pick, randomWrite, type Random, type Write } from './workload.js'

export type LinkFault = 'cut' | 'stall' | 'delay'

/**
 * The faults and actors beyond the first round's, each behind its flag. They are drawn from a
 * second stream of the seed, so a seed's first-round schedule is the same with or without them.
 */
export interface Features {
  /** `--hostile`: the seed decides whether a hostile writer joins the run, and what it sends. */
  readonly hostile?: boolean
  /** Which hostile actions it may draw (default all). */
  readonly hostileActions?: readonly HostileAction[]
  /** `--lifecycles`: app lifecycles on the native replicas, and 3 documents per client. */
  readonly lifecycles?: boolean
  /** `--mixed`: this many stock y-websocket replicas beside the native ones. */
  readonly stock?: number
  /** `--cluster`: this many relays (2 or 3) on one PostgreSQL and one redis-server. */
  readonly relays?: number
  /** `--storage`: faults of the replicas' device stores and (single relay) of the relay's DocStore. */
  readonly storage?: boolean
  /** `--readers`: the last native replica holds a read-only token, and writes anyway, as apps do. */
  readonly readers?: boolean
}

export type ClusterFault =
  | { readonly target: 'redis'; readonly fault: 'kill' | 'restart' }
  | {
      readonly target: 'redisLink'
      readonly relay: number
      readonly fault: LinkFault | 'drop' | 'heal'
      readonly delayMs: number
    }
  | { readonly target: 'postgres'; readonly fault: 'restart' }
  | { readonly target: 'postgresLink'; readonly relay: number; readonly fault: 'stall' | 'heal' }

export type Step =
  /** `doc` indexes the run's documents; a `replica` past the native ones is a stock one. */
  | { readonly kind: 'write'; readonly replica: number; readonly write: Write; readonly doc: number }
  | {
      readonly kind: 'partition'
      readonly replicas: readonly number[]
      readonly fault: LinkFault
      readonly delayMs: number
    }
  | { readonly kind: 'heal'; readonly replicas: readonly number[] }
  | { readonly kind: 'crashReplica'; readonly replica: number }
  | { readonly kind: 'restartReplica'; readonly replica: number }
  | { readonly kind: 'stopRelay'; readonly signal: 'SIGKILL' | 'SIGTERM'; readonly relay: number }
  | { readonly kind: 'restartRelay'; readonly relay: number }
  | { readonly kind: 'hostile'; readonly action: HostileAction; readonly victim: number; readonly seed: number }
  /** The lifecycle runs in the same turn as its write, as when an app closes right after a keystroke. */
  | {
      readonly kind: 'lifecycle'
      readonly replica: number
      readonly lifecycle: Lifecycle
      readonly doc: number
      readonly write: Write
    }
  /** `--lifecycles`: replica 0 is a pair of tabs; one of them is killed, and opened again. */
  | { readonly kind: 'killTab'; readonly replica: number; readonly tab: number }
  /** Cluster mode: the replica's next connections go to this relay (its current one is cut). */
  | { readonly kind: 'moveReplica'; readonly replica: number; readonly relay: number }
  | ({ readonly kind: 'cluster' } & ClusterFault)
  | { readonly kind: 'localStoreFault'; readonly replica: number; readonly fault: LocalStoreFault }
  | { readonly kind: 'relayStoreFault'; readonly relay: number; readonly fault: DocStoreFault }

export interface ScheduleOptions {
  readonly seed: number
  readonly replicas: number
  readonly ops: number
  readonly features?: Features | undefined
}

/** The documents of a run: one, or three with `--lifecycles`. */
export const documentsOf = (features: Features | undefined): string[] =>
  features?.lifecycles ? ['chaos', 'chaos-2', 'chaos-3'] : ['chaos']

/** Whether the seed puts a hostile writer in the run (4 seeds in 5, with `--hostile`). */
export const hasHostileWriter = (seed: number, features: Features | undefined): boolean =>
  features?.hostile === true && chance(createRandom(seed * 7 + 3), 0.8)

export const describeStep = (step: Step): string => {
  switch (step.kind) {
    case 'write':
      return `r${step.replica} write ${step.write.element} ${step.write.kind} (seed ${step.write.seed})${step.doc > 0 ? ` to doc ${step.doc}` : ''}`
    case 'partition':
      return `${step.fault}${step.fault === 'delay' ? ` ${step.delayMs} ms` : ''} links of [${step.replicas.join(',')}]`
    case 'heal':
      return `heal links of [${step.replicas.join(',')}]`
    case 'crashReplica':
      return `SIGKILL r${step.replica}`
    case 'restartReplica':
      return `restart r${step.replica}`
    case 'stopRelay':
      return `${step.signal} relay ${step.relay}`
    case 'restartRelay':
      return `restart relay ${step.relay}`
    case 'hostile':
      return `hostile ${step.action} (victim r${step.victim}, seed ${step.seed})`
    case 'lifecycle':
      return `r${step.replica} write ${step.write.element} ${step.write.kind} (seed ${step.write.seed}) then ${step.lifecycle} doc ${step.doc}`
    case 'killTab':
      return `kill tab ${step.tab} of r${step.replica}`
    case 'moveReplica':
      return `move r${step.replica} to relay ${step.relay}`
    case 'localStoreFault':
      return `r${step.replica} device store: ${JSON.stringify(step.fault)}`
    case 'relayStoreFault':
      return `relay ${step.relay} store: ${JSON.stringify(step.fault)}`
    case 'cluster':
      return step.target === 'redisLink'
        ? `${step.fault}${step.fault === 'delay' ? ` ${step.delayMs} ms` : ''} the redis link of relay ${step.relay}`
        : step.target === 'postgresLink'
          ? `${step.fault} the postgres link of relay ${step.relay}`
          : `${step.fault} ${step.target}`
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

export const createSchedule = ({ seed, replicas, ops, features }: ScheduleOptions): Step[] => {
  const random = createRandom(seed)
  // The second stream: the new faults, without changing what the first one draws.
  const extra = createRandom(seed * 7919 + 1)
  const relays = features?.relays ?? 1
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
    const relay = relays > 1 ? between(extra, 0, relays - 1) : 0
    add(start, { kind: 'stopRelay', signal: i % 2 === 0 || chance(random, 0.5) ? 'SIGKILL' : 'SIGTERM', relay })
    add(end, { kind: 'restartRelay', relay })
  }
  for (const { start, end } of spread(random, ops, Math.max(2, Math.round(ops / 500)))) {
    const replica = pick(random, everyone)
    add(start, { kind: 'crashReplica', replica })
    add(end, { kind: 'restartReplica', replica })
  }

  addFeatureSteps(extra, { seed, replicas, ops, features }, add)

  const documents = documentsOf(features).length
  const stock = features?.stock ?? 0
  const steps: Step[] = []
  for (let i = 0; i <= ops; i++) {
    steps.push(...(at.get(i) ?? []))
    if (i >= ops) continue
    let replica = between(random, 0, replicas - 1)
    const write = randomWrite(random, `s${seed}.${i}`)
    if (stock > 0 && chance(extra, stock / (replicas + stock))) replica = replicas + between(extra, 0, stock - 1)
    steps.push({ kind: 'write', replica, write, doc: documents > 1 ? between(extra, 0, documents - 1) : 0 })
  }
  return steps
}

const lifecycles: readonly Lifecycle[] = ['reopen', 'closeThenDestroy', 'destroyThenRecreate']

/** The steps of the flagged features, from the second stream. */
const addFeatureSteps = (
  random: Random,
  { seed, replicas, ops, features }: ScheduleOptions,
  add: (position: number, step: Step) => void,
): void => {
  const everyone = [...Array(replicas).keys()]
  if (hasHostileWriter(seed, features)) {
    const actions = features?.hostileActions ?? defaultHostileActions(features?.storage === true)
    for (const { start } of spread(random, ops, Math.max(6, Math.round(ops / 150)))) {
      add(start, {
        kind: 'hostile',
        action: pick(random, actions),
        victim: pick(random, everyone),
        seed: between(random, 0, 0x7fffffff),
      })
    }
  }
  if (features?.lifecycles) {
    const documents = documentsOf(features).length
    for (const [i, { start }] of spread(random, ops, Math.max(6, Math.round(ops / 50))).entries()) {
      add(start, {
        kind: 'lifecycle',
        replica: pick(random, everyone),
        lifecycle: pick(random, lifecycles),
        doc: between(random, 0, documents - 1),
        // Numbered after the plain writes, so every element of the run stays unique.
        write: randomWrite(random, `s${seed}.${ops + i}`),
      })
    }
    for (const { start } of spread(random, ops, Math.max(3, Math.round(ops / 200)))) {
      add(start, { kind: 'killTab', replica: 0, tab: between(random, 0, 1) })
    }
  }
  const relays = features?.relays ?? 1
  if (features?.storage) {
    for (const { start } of spread(random, ops, Math.max(6, Math.round(ops / 100)))) {
      const times = between(random, 1, 3)
      const kind = pick(random, ['appendFails', 'appendFails', 'compactFails', 'loadFails', 'slowAppends'] as const)
      const fault: LocalStoreFault =
        kind === 'appendFails'
          ? { kind, times, name: pick(random, ['QuotaExceededError', 'AbortError'] as const) }
          : kind === 'slowAppends'
            ? { kind, times: times * 10, ms: between(random, 50, 500) }
            : { kind, times }
      add(start, { kind: 'localStoreFault', replica: pick(random, everyone), fault })
    }
    if (relays === 1) {
      for (const { start } of spread(random, ops, Math.max(4, Math.round(ops / 150)))) {
        const times = between(random, 1, 3)
        const kind = pick(random, ['appendFails', 'diskFull', 'loadFails', 'appendStalls'] as const)
        const fault: DocStoreFault =
          kind === 'appendStalls' ? { kind, times: times * 2, ms: between(random, 200, 3_000) } : { kind, times }
        add(start, { kind: 'relayStoreFault', relay: 0, fault })
      }
    }
  }
  if (relays < 2) return
  // Replicas move between relays: now and then one is sent to another relay.
  for (const { start } of spread(random, ops, Math.max(6, Math.round(ops / 100)))) {
    add(start, { kind: 'moveReplica', replica: pick(random, everyone), relay: between(random, 0, relays - 1) })
  }
  const count = Math.max(2, Math.round(ops / 1000))
  for (const { start, end } of spread(random, ops, count)) {
    add(start, { kind: 'cluster', target: 'redis', fault: 'kill' })
    add(end, { kind: 'cluster', target: 'redis', fault: 'restart' })
  }
  for (const { start, end } of spread(random, ops, count * 2)) {
    const relay = between(random, 0, relays - 1)
    const fault = pick(random, ['cut', 'stall', 'delay', 'drop', 'drop'] as const)
    add(start, { kind: 'cluster', target: 'redisLink', relay, fault, delayMs: between(random, 50, 1_000) })
    add(end, { kind: 'cluster', target: 'redisLink', relay, fault: 'heal', delayMs: 0 })
  }
  for (const { start } of spread(random, ops, count))
    add(start, { kind: 'cluster', target: 'postgres', fault: 'restart' })
  for (const { start, end } of spread(random, ops, count)) {
    const relay = between(random, 0, relays - 1)
    add(start, { kind: 'cluster', target: 'postgresLink', relay, fault: 'stall' })
    add(end, { kind: 'cluster', target: 'postgresLink', relay, fault: 'heal' })
  }
}
