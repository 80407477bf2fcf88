/**
 * Owns which structs of a document wait, and whether an update would add
 * one that waits for good. A Yjs document integrates a struct only once it
 * holds every earlier clock of the struct's client and the ids the struct
 * refers to (origin, right origin, parent); until then the struct waits,
 * and so does everything after it of its client. A struct may wait for
 * clocks that can still come (a stock y-websocket client sends an edit
 * before the step 2 that carries what it builds on). It waits for good when
 * it needs clocks the relay refused (a contested client's, see
 * admitUpdate.ts), or itself through other waiting structs: update A's item
 * placed next to update B's and B's next to A's, each update fine alone.
 * Such an update is refused, since stored it would be acknowledged yet
 * unreadable in every copy, with every later struct of its client.
 * Answered from decoded structs and clock ranges, without a Y.Doc. An honest
 * document has no waiting struct, and then an update costs a look at what it
 * refers to.
 */
import { ProtocolError } from '@concord/protocol'
import * as Y from 'yjs'
import type { KnownClocks } from './knownClocks.js'
import type { ClockRange } from './yjsUpdates.js'

type Struct = Y.Item | Y.GC | Y.Skip

/**
 * Structs that may wait in one document before an update that adds more is
 * refused: each update is checked against all of them, and an honest
 * document has none (a stock client's edit ahead of its step 2 waits for
 * moments).
 */
export const maxWaitingStructs = 256
type Need = readonly [client: number, clock: number]

/** A run of clocks of one struct (all of it, or the part the document did not hold), and what it needs. */
interface Node {
  readonly client: number
  readonly start: number
  readonly end: number
  /** The ids it needs besides its own: its client's clock before it, and the ids it refers to. */
  readonly needs: readonly Need[]
}

/**
 * The ids the clocks of `struct` from `from` on refer to, besides the clock
 * before `from` of its own client (past an item's first clock, its origin is
 * that clock). Earlier clocks of its own client come with that one.
 */
const referencesOf = (struct: Y.Item | Y.GC, from: number): Y.ID[] => {
  if (!(struct instanceof Y.Item)) return []
  const { client } = struct.id
  const references: Y.ID[] = []
  const parent = struct.parent instanceof Y.ID ? struct.parent : null
  for (const id of [from === struct.id.clock ? struct.origin : null, struct.rightOrigin, parent]) {
    if (id && (id.client !== client || id.clock >= from)) references.push(id)
  }
  return references
}

/** The node for the clocks of `struct` from `from` on. */
const nodeOf = (struct: Y.Item | Y.GC, from: number): Node => {
  const { client, clock } = struct.id
  const needs: Need[] = from > 0 ? [[client, from - 1]] : []
  for (const id of referencesOf(struct, from)) needs.push([id.client, id.clock])
  return { client, start: from, end: clock + struct.length, needs }
}

/**
 * The structs of `structs` (a whole document's, each client's together and
 * in clock order) that do not integrate, found as a Y.Doc finds them: each
 * client's structs integrate in order while what they refer to has; a
 * client that stops waits until the client it needs moves on. Costs a look
 * at each struct's references, and one more each time a client is woken.
 */
const notIntegrating = (structs: readonly Struct[]): Node[] => {
  const lists = new Map<number, Struct[]>()
  for (const struct of structs) {
    const list = lists.get(struct.id.client)
    if (list) list.push(struct)
    else lists.set(struct.id.client, [struct])
  }
  /** For each client: how many of its structs integrate, and the clock they reach. */
  const integrated = new Map<number, { count: number; end: number }>()
  for (const client of lists.keys()) integrated.set(client, { count: 0, end: 0 })
  const endOf = (client: number): number => integrated.get(client)?.end ?? 0
  /** The clients that wait for each client to move on. */
  const waiters = new Map<number, number[]>()
  const queue = [...lists.keys()]
  while (queue.length > 0) {
    const client = queue.pop()!
    const list = lists.get(client)!
    const done = integrated.get(client)!
    const before = done.count
    while (done.count < list.length) {
      const struct = list[done.count]!
      if (struct instanceof Y.Skip || struct.id.clock !== done.end) break
      const missing = referencesOf(struct, struct.id.clock).find((id) => id.clock >= endOf(id.client))
      if (missing) {
        // Waiting on itself (a forward reference), it never moves on.
        if (missing.client !== client) {
          const list = waiters.get(missing.client)
          if (list) list.push(client)
          else waiters.set(missing.client, [client])
        }
        break
      }
      done.count++
      done.end = struct.id.clock + struct.length
    }
    if (done.count === before) continue
    const woken = waiters.get(client)
    if (!woken) continue
    waiters.delete(client)
    queue.push(...woken)
  }
  const waiting: Node[] = []
  for (const [client, list] of lists) {
    for (let index = integrated.get(client)!.count; index < list.length; index++) {
      const struct = list[index]!
      if (!(struct instanceof Y.Skip)) waiting.push(nodeOf(struct, struct.id.clock))
    }
  }
  return waiting
}

/** What one need resolves to: a node, or, outside every node, held, refused for good, or still to come. */
type Resolved = number | 'held' | 'never' | 'open'

/** Nodes by client, each list sorted by start, for finding the node that holds a clock. */
const indexOf = (nodes: readonly Node[]): Map<number, number[]> => {
  const byClient = new Map<number, number[]>()
  nodes.forEach((node, index) => {
    const list = byClient.get(node.client) ?? []
    byClient.set(node.client, list)
    list.push(index)
  })
  for (const list of byClient.values()) list.sort((a, b) => nodes[a]!.start - nodes[b]!.start)
  return byClient
}

const nodeAt = (
  nodes: readonly Node[],
  byClient: Map<number, number[]>,
  client: number,
  clock: number,
): number | undefined => {
  const list = byClient.get(client)
  if (!list) return undefined
  let low = 0
  let high = list.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const node = nodes[list[middle]!]!
    if (clock < node.start) high = middle - 1
    else if (clock >= node.end) low = middle + 1
    else return list[middle]
  }
  return undefined
}

/**
 * Which of `nodes` integrate (Kahn's order over what each needs), with the
 * needs outside them resolved by `resolve`: `open` ones count as there when
 * `openArrives`. A node in a circle, or after one, never integrates.
 */
const integrating = (nodes: readonly Node[], resolved: readonly Resolved[][], openArrives: boolean): boolean[] => {
  const blockers = new Uint32Array(nodes.length)
  const dependents: number[][] = nodes.map(() => [])
  resolved.forEach((needs, index) => {
    for (const need of needs) {
      if (need === 'held' || (need === 'open' && openArrives)) continue
      blockers[index]!++
      if (typeof need === 'number') dependents[need]!.push(index)
    }
  })
  const integrated = nodes.map(() => false)
  const ready = nodes.flatMap((_, index) => (blockers[index] === 0 ? [index] : []))
  while (ready.length > 0) {
    const index = ready.pop()!
    integrated[index] = true
    for (const dependent of dependents[index]!) if (--blockers[dependent]! === 0) ready.push(dependent)
  }
  return integrated
}

export class WaitingStructs {
  /** A document in which nothing waits. */
  static readonly none = new WaitingStructs([])

  private constructor(readonly nodes: readonly Node[]) {}

  /** Nothing waits. */
  get empty(): boolean {
    return this.nodes.length === 0
  }

  /** The structs that wait among `structs`, all that a document holds (its merged state, decoded). */
  static of(structs: readonly Struct[]): WaitingStructs {
    const waiting = notIntegrating(structs)
    return waiting.length === 0 ? WaitingStructs.none : new WaitingStructs(waiting)
  }

  /**
   * What waits once the document also holds `structs`, an update's, of which
   * `known` (the clocks held before it) holds nothing but repeats. Throws a
   * ProtocolError with code `invalidUpdate` when one of them could never be
   * integrated: it needs clocks of a `contested` client the document does
   * not hold, or waits on itself through structs that wait. With `refuse`
   * false (news from another relay, stored already) it is kept waiting instead.
   */
  with(
    structs: readonly Struct[],
    ranges: readonly ClockRange[],
    known: KnownClocks,
    contested: ReadonlySet<number>,
    refuse = true,
  ): WaitingStructs {
    // The usual case: nothing waits, and each struct needs only clocks held before it or in the update.
    const present = (client: number, clock: number): boolean =>
      clock < known.next(client) ||
      ranges.some((range) => range.client === client && range.start <= clock && clock < range.end)
    const parts: Array<[struct: Y.Item | Y.GC, from: number]> = []
    let allPresent = this.empty
    for (const struct of structs) {
      if (struct instanceof Y.Skip) continue
      const { client, clock } = struct.id
      const from = known.firstUnheld(client, clock)
      if (from >= clock + struct.length) continue
      parts.push([struct, from])
      allPresent &&=
        (from === 0 || present(client, from - 1)) &&
        referencesOf(struct, from).every((id) => present(id.client, id.clock))
    }
    if (allPresent) return this
    const added = parts.map(([struct, from]) => nodeOf(struct, from))
    return this.settle([...this.nodes, ...added], known, contested, refuse ? this.nodes.length : undefined)
  }

  /** The nodes of `nodes` that do not integrate; throws when one from `firstRefusable` on never can. */
  private settle(
    nodes: readonly Node[],
    known: KnownClocks,
    contested: ReadonlySet<number>,
    firstRefusable: number | undefined,
  ): WaitingStructs {
    const byClient = indexOf(nodes)
    const resolved = nodes.map(({ needs }, self): Resolved[] =>
      needs.map(([client, clock]) => {
        const node = nodeAt(nodes, byClient, client, clock)
        // A node that needs its own clocks (a forward reference) waits on itself.
        if (node !== undefined) return node === self ? 'never' : node
        if (known.holds(client, clock)) return 'held'
        return contested.has(client) ? 'never' : 'open'
      }),
    )
    if (firstRefusable !== undefined) {
      const couldIntegrate = integrating(nodes, resolved, true)
      for (let index = firstRefusable; index < nodes.length; index++) {
        if (couldIntegrate[index]) continue
        const { client, start } = nodes[index]!
        throw new ProtocolError(
          'invalidUpdate',
          `struct ${client}:${start} could never be integrated: it needs clocks the relay refused, or waits on itself`,
        )
      }
    }
    const integrated = integrating(nodes, resolved, false)
    const waiting = nodes.filter((_, index) => !integrated[index])
    if (
      firstRefusable !== undefined &&
      waiting.length > maxWaitingStructs &&
      integrated.slice(firstRefusable).includes(false)
    ) {
      throw new ProtocolError(
        'invalidUpdate',
        `more than ${maxWaitingStructs} structs of this document wait for clocks the relay does not hold`,
      )
    }
    return waiting.length === 0 && this.empty ? this : new WaitingStructs(waiting)
  }
}
