/**
 * Owns the in-process layer: replicas that sync through y-protocols over a
 * simulated network, driven by one seed, so thousands of runs take seconds.
 * The network reorders messages across and within links, duplicates and
 * drops some, and partitions replicas; replicas crash, some between storing
 * a write and sending it, and reload from their store. Each replica keeps the
 * client's contract: a local update is stored before it is sent, a received
 * one is stored too, and the store is compacted now and then. Periodic
 * resyncs (sync step 1 both ways, as on every reconnect) recover what was
 * dropped. Real processes and real sockets are the other layer's business
 * (`jepsen.ts`); this one reaches message orders that TCP never produces.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { checkSet, type SetCheck } from './setChecker.js'
import {
  applyWrite,
  between,
  chance,
  contentOf,
  createRandom,
  elementsInUpdate,
  randomWrite,
  stateVectorOf,
  type Random,
} from './workload.js'

export interface SimulationOptions {
  readonly seed: number
  readonly replicas?: number
  /** Scheduler steps before the final heal; a step is a write, a delivery or a fault. */
  readonly steps?: number
  /** Share of deliveries dropped, and of deliveries duplicated. Default 0.05 each. */
  readonly dropRate?: number
  readonly duplicateRate?: number
  /** Heal and resync at the end before checking (default). Off, the checks must find the divergence. */
  readonly settle?: boolean
  /**
   * Device-store faults: 10% of local appends fail. The replica keeps the update in memory, sends it
   * anyway, retries storing it, and stores it with the next append that succeeds (never after it).
   */
  readonly storeFaults?: boolean
  /** App lifecycles: a replica's document is closed and opened again at once, its unstored updates handed over. */
  readonly lifecycles?: boolean
  /** Sabotage: a failed append is dropped, neither sent nor retried (what the client did before its fix). */
  readonly dropFailedAppends?: boolean
}

export interface SimulationResult {
  readonly seed: number
  readonly writes: number
  readonly faults: {
    partitions: number
    crashes: number
    dropped: number
    duplicated: number
    failedAppends: number
    reopens: number
  }
  readonly set: SetCheck
  /**
   * How long the healed system took to converge, in the simulation's own time: messages delivered
   * after the final heal until every replica had the same state vector (undefined if it never did).
   */
  readonly convergeDeliveries: number | undefined
  /** Every broken invariant, in words; empty when the run passed. */
  readonly problems: readonly string[]
  /** What happened, one line per step: enough to replay the run by hand. */
  readonly log: readonly string[]
}

interface Replica {
  readonly index: number
  incarnation: number
  doc: Y.Doc
  /** The durable store: survives a crash. */
  store: Uint8Array[]
  /** Updates whose append failed: in memory only, retried later; lost in a crash. */
  unstored: Uint8Array[]
}

interface Message {
  readonly from: number
  readonly to: number
  readonly bytes: Uint8Array
}

const fromNetwork = Symbol('from the network')
const linkOf = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`)

export const runSimulation = (options: SimulationOptions): SimulationResult => {
  const { seed, replicas: count = 4, steps = 400, dropRate = 0.05, duplicateRate = 0.05, settle = true } = options
  const { storeFaults = false, lifecycles = false, dropFailedAppends = false } = options
  const random: Random = createRandom(seed)
  const log: string[] = []
  const inFlight: Message[] = []
  const cut = new Set<string>()
  const faults = { partitions: 0, crashes: 0, dropped: 0, duplicated: 0, failedAppends: 0, reopens: 0 }
  /** Set while a local write's append fails: the write is not sent (the sabotage). */
  let appendFailed = false
  const attempted = new Set<string>()
  let writes = 0

  const send = (from: number, to: number, bytes: Uint8Array): void => {
    if (cut.has(linkOf(from, to))) return
    inFlight.push({ from, to, bytes })
  }

  const sendStep1 = (from: Replica, to: number): void => {
    const encoder = encoding.createEncoder()
    syncProtocol.writeSyncStep1(encoder, from.doc)
    send(from.index, to, encoding.toUint8Array(encoder))
  }

  const makeDoc = (replica: Replica): Y.Doc => {
    const doc = new Y.Doc()
    // Deterministic, and new for every incarnation: a reloaded replica must never reuse a client id.
    doc.clientID = 1 + replica.index * 100_000 + replica.incarnation
    if (replica.store.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(replica.store), fromNetwork)
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (storeFaults && origin !== fromNetwork && chance(random, 0.1)) {
        faults.failedAppends++
        appendFailed = true
        if (!dropFailedAppends) replica.unstored.push(update)
        return
      }
      // A later append carries the ones that failed before it, so the store never holds an update
      // without those it builds on (a crash loses the tail since the last good append, no more).
      if (replica.unstored.length > 0) {
        replica.store.push(Y.mergeUpdates([...replica.unstored, update]))
        replica.unstored = []
        return
      }
      replica.store.push(update)
    })
    return doc
  }

  /** Retries the appends that failed, all in one, in order; it succeeds with probability `p`. */
  const retryAppends = (replica: Replica, p: number): void => {
    if (replica.unstored.length === 0 || !chance(random, p)) return
    replica.store.push(Y.mergeUpdates(replica.unstored))
    replica.unstored = []
  }

  const all: Replica[] = []
  for (let index = 0; index < count; index++) {
    const replica: Replica = { index, incarnation: 0, doc: new Y.Doc(), store: [], unstored: [] }
    replica.doc = makeDoc(replica)
    all.push(replica)
  }
  const peersOf = (replica: Replica) => all.filter((other) => other !== replica)
  const resync = (a: Replica, b: Replica): void => {
    sendStep1(a, b.index)
    sendStep1(b, a.index)
  }

  const write = (replica: Replica, sendIt: boolean): void => {
    const element = `w${writes++}`
    attempted.add(element)
    let update: Uint8Array | undefined
    const capture = (bytes: Uint8Array) => (update = bytes)
    replica.doc.on('update', capture)
    appendFailed = false
    applyWrite(replica.doc, randomWrite(random, element))
    replica.doc.off('update', capture)
    // The sabotage: a failed append is dropped, and so never sent.
    if (!update || !sendIt || (dropFailedAppends && appendFailed)) return
    // What is not stored yet goes out with every later update, as the client sends everything not
    // yet durable on each frame's connection: no peer gets an update without those it builds on.
    const outgoing = replica.unstored.length > 0 ? Y.mergeUpdates([...replica.unstored, update]) : update
    for (const peer of peersOf(replica)) {
      const encoder = encoding.createEncoder()
      syncProtocol.writeUpdate(encoder, outgoing)
      send(replica.index, peer.index, encoding.toUint8Array(encoder))
    }
  }

  const crash = (replica: Replica): void => {
    faults.crashes++
    // What was on its way to the crashed replica is gone with it.
    for (let i = inFlight.length - 1; i >= 0; i--) if (inFlight[i]!.to === replica.index) inFlight.splice(i, 1)
    replica.doc.destroy()
    replica.incarnation++
    // What was only in memory is gone with the process.
    replica.unstored = []
    replica.doc = makeDoc(replica)
    for (const peer of peersOf(replica)) resync(replica, peer)
  }

  /** Close and reopen at once: a new document from the store, holding every update the old one had not stored. */
  const reopen = (replica: Replica): void => {
    faults.reopens++
    replica.doc.destroy()
    replica.incarnation++
    replica.doc = makeDoc(replica)
    if (replica.unstored.length > 0) Y.applyUpdate(replica.doc, Y.mergeUpdates(replica.unstored), fromNetwork)
    for (const peer of peersOf(replica)) resync(replica, peer)
  }

  const deliver = (message: Message, faulty: boolean): void => {
    if (cut.has(linkOf(message.from, message.to))) return
    if (faulty && chance(random, dropRate)) {
      faults.dropped++
      return
    }
    if (faulty && chance(random, duplicateRate)) {
      faults.duplicated++
      inFlight.splice(between(random, 0, inFlight.length), 0, message)
    }
    const target = all[message.to]!
    const reply = encoding.createEncoder()
    syncProtocol.readSyncMessage(decoding.createDecoder(message.bytes), reply, target.doc, fromNetwork)
    if (encoding.length(reply) > 0) send(target.index, message.from, encoding.toUint8Array(reply))
  }

  const partition = (): void => {
    faults.partitions++
    cut.clear()
    const side = all.filter(() => chance(random, 0.5)).map(({ index }) => index)
    for (const a of side) for (const b of all) if (!side.includes(b.index)) cut.add(linkOf(a, b.index))
    log.push(`partition [${side.join(',')}] from the rest`)
  }

  const heal = (): void => {
    cut.clear()
    for (const a of all) for (const b of all) if (a.index < b.index) resync(a, b)
  }

  for (let step = 0; step < steps; step++) {
    const roll = between(random, 0, 99)
    const replica = all[between(random, 0, count - 1)]!
    if (roll < 35) {
      if (storeFaults) retryAppends(replica, 0.5)
      const sendIt = !chance(random, 0.03)
      log.push(`r${replica.index} write w${writes}${sendIt ? '' : ', crashes before sending'}`)
      write(replica, sendIt)
      if (!sendIt) crash(replica)
    } else if (roll < 85) {
      if (inFlight.length === 0) continue
      const [message] = inFlight.splice(between(random, 0, inFlight.length - 1), 1)
      log.push(`deliver r${message!.from} -> r${message!.to}`)
      deliver(message!, true)
    } else if (roll < 90) {
      const other = all[(replica.index + between(random, 1, count - 1)) % count]!
      log.push(`resync r${replica.index} r${other.index}`)
      resync(replica, other)
    } else if (roll < 93) {
      partition()
    } else if (roll < 96) {
      log.push('heal')
      heal()
    } else if (roll < 98) {
      log.push(`crash r${replica.index}`)
      crash(replica)
    } else if ((storeFaults || lifecycles) && roll === 98 && chance(random, 0.5)) {
      if (lifecycles) {
        log.push(`reopen r${replica.index}`)
        reopen(replica)
      } else {
        log.push(`retry appends of r${replica.index}`)
        retryAppends(replica, 0.5)
      }
    } else {
      log.push(`compact r${replica.index}`)
      replica.store = [Y.mergeUpdates(replica.store)]
    }
  }

  // Settle: heal, then resync and deliver everything, without faults, until nothing is in flight.
  log.push('final heal')
  for (const replica of settle ? all : []) retryAppends(replica, 1)
  const converged = () => new Set(all.map(({ doc }) => stateVectorOf(doc))).size === 1
  /** The delivery after which the state vectors agreed, and went on agreeing. */
  let convergedAt: number | undefined
  let delivered = 0
  for (let round = 0; settle && round < 10; round++) {
    heal()
    for (let deliveries = 0; inFlight.length > 0 && deliveries < 100_000; deliveries++) {
      const [message] = inFlight.splice(between(random, 0, inFlight.length - 1), 1)
      deliver(message!, false)
      delivered++
      if (!converged()) convergedAt = undefined
      else convergedAt ??= delivered
    }
    if (converged()) break
    convergedAt = undefined
  }
  const convergeDeliveries = settle && converged() ? (convergedAt ?? delivered) : undefined

  const problems: string[] = []
  const [first] = all
  for (const replica of all) {
    const { doc } = replica
    if (stateVectorOf(doc) !== stateVectorOf(first!.doc))
      problems.push(`r${replica.index}: state vector differs from r0`)
    if (contentOf(doc) !== contentOf(first!.doc)) problems.push(`r${replica.index}: content differs from r0`)
    if (doc.store.pendingStructs || doc.store.pendingDs) problems.push(`r${replica.index}: updates left pending`)
    const reloaded = new Y.Doc()
    Y.applyUpdate(reloaded, Y.mergeUpdates(replica.store))
    if (contentOf(reloaded) !== contentOf(doc) || stateVectorOf(reloaded) !== stateVectorOf(doc)) {
      problems.push(`r${replica.index}: a reload from its store differs from memory`)
    }
  }
  const everything = new Y.Doc()
  Y.applyUpdate(everything, Y.mergeUpdates(all.flatMap(({ store }) => store)))
  if (contentOf(everything) !== contentOf(first!.doc)) problems.push('merging every stored update differs from r0')
  // Without store faults every write is committed in the step it is made; with them, what a store holds.
  const committed = storeFaults
    ? new Set(all.flatMap(({ store }) => store.flatMap((update) => elementsInUpdate(update, /^w\d+$/))))
    : attempted
  const set = checkSet(
    { attempted, committed, acknowledged: new Set() },
    first!.doc.getArray<string>('elements').toArray(),
  )
  if (set.lostCommitted.length > 0) problems.push(`lost committed writes: ${set.lostCommitted.join(', ')}`)
  if (set.unexpected.length > 0) problems.push(`unexpected elements: ${set.unexpected.join(', ')}`)
  for (const { doc } of all) doc.destroy()
  return { seed, writes, faults, set, convergeDeliveries, problems, log }
}
