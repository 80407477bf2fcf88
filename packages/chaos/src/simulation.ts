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
}

export interface SimulationResult {
  readonly seed: number
  readonly writes: number
  readonly faults: { partitions: number; crashes: number; dropped: number; duplicated: number }
  readonly set: SetCheck
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
  const random: Random = createRandom(seed)
  const log: string[] = []
  const inFlight: Message[] = []
  const cut = new Set<string>()
  const faults = { partitions: 0, crashes: 0, dropped: 0, duplicated: 0 }
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
    doc.on('update', (update: Uint8Array) => replica.store.push(update))
    return doc
  }

  const all: Replica[] = []
  for (let index = 0; index < count; index++) {
    const replica: Replica = { index, incarnation: 0, doc: new Y.Doc(), store: [] }
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
    applyWrite(replica.doc, randomWrite(random, element))
    replica.doc.off('update', capture)
    if (!update || !sendIt) return
    for (const peer of peersOf(replica)) {
      const encoder = encoding.createEncoder()
      syncProtocol.writeUpdate(encoder, update)
      send(replica.index, peer.index, encoding.toUint8Array(encoder))
    }
  }

  const crash = (replica: Replica): void => {
    faults.crashes++
    // What was on its way to the crashed replica is gone with it.
    for (let i = inFlight.length - 1; i >= 0; i--) if (inFlight[i]!.to === replica.index) inFlight.splice(i, 1)
    replica.doc.destroy()
    replica.incarnation++
    replica.doc = makeDoc(replica)
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
    } else {
      log.push(`compact r${replica.index}`)
      replica.store = [Y.mergeUpdates(replica.store)]
    }
  }

  // Settle: heal, then resync and deliver everything, without faults, until nothing is in flight.
  log.push('final heal')
  for (let round = 0; settle && round < 10; round++) {
    heal()
    for (let deliveries = 0; inFlight.length > 0 && deliveries < 100_000; deliveries++) {
      const [message] = inFlight.splice(between(random, 0, inFlight.length - 1), 1)
      deliver(message!, false)
    }
    if (new Set(all.map(({ doc }) => stateVectorOf(doc))).size === 1) break
  }

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
  // Every write is committed here: a replica stores it in the same step it makes it.
  const set = checkSet(
    { attempted, committed: attempted, acknowledged: new Set() },
    first!.doc.getArray<string>('elements').toArray(),
  )
  if (set.lostCommitted.length > 0) problems.push(`lost committed writes: ${set.lostCommitted.join(', ')}`)
  if (set.unexpected.length > 0) problems.push(`unexpected elements: ${set.unexpected.join(', ')}`)
  for (const { doc } of all) doc.destroy()
  return { seed, writes, faults, set, problems, log }
}
