/**
 * Owns the question "would the structs of one update wait on each other
 * for ever?". A Yjs document integrates a struct only once it holds every
 * clock of its own client before it and the ids it refers to (origin, right
 * origin, parent); until then the struct waits, and so does everything
 * after it. Honest updates come from documents that integrated each struct
 * after what it refers to, so their structs never wait in a circle; a
 * crafted one can (item A refers to B, which refers to A), and then every
 * copy keeps both, and every later struct of both clients, waiting for
 * good. Answered from decoded structs, without a Y.Doc.
 */
import * as Y from 'yjs'

type Struct = Y.Item | Y.GC | Y.Skip

interface Node {
  readonly struct: Y.Item | Y.GC
  /** Indexes in the node list of the structs this one waits on. */
  readonly waitsOn: number[]
}

/** The index (in `nodes`) of the last of a client's structs `list` that starts at or before `clock`. */
const lastAtOrBefore = (list: readonly number[], nodes: readonly Node[], clock: number): number | undefined => {
  let low = 0
  let high = list.length - 1
  let found: number | undefined
  while (low <= high) {
    const middle = (low + high) >>> 1
    if (nodes[list[middle]!]!.struct.id.clock <= clock) {
      found = list[middle]
      low = middle + 1
    } else {
      high = middle - 1
    }
  }
  return found
}

/**
 * One struct, as "client:clock", of a circle of structs of `structs` that
 * wait on each other, or undefined when there is none. `structs` lists each
 * client's structs together and in clock order (as inspectUpdate checks).
 */
export const findWaitCycle = (structs: readonly Struct[]): string | undefined => {
  const nodes: Node[] = []
  const byClient = new Map<number, number[]>()
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue
    const list = byClient.get(struct.id.client) ?? []
    byClient.set(struct.id.client, list)
    // A struct waits on the one before it of its own client: it needs every earlier clock.
    nodes.push({ struct, waitsOn: list.length > 0 ? [list[list.length - 1]!] : [] })
    list.push(nodes.length - 1)
  }
  // Within one client, items refer only backwards (checked before this): no circle is possible.
  if (byClient.size < 2) return undefined
  for (const { struct, waitsOn } of nodes) {
    if (!(struct instanceof Y.Item)) continue
    for (const reference of [struct.origin, struct.rightOrigin, struct.parent]) {
      if (!(reference instanceof Y.ID) || reference.client === struct.id.client) continue
      const list = byClient.get(reference.client)
      // Holding that clock takes every struct of its client up to it; what this update lacks may come later.
      const waited = list && lastAtOrBefore(list, nodes, reference.clock)
      if (waited !== undefined) waitsOn.push(waited)
    }
  }
  // Depth-first, without recursion (an update may hold millions of structs): a struct met again while
  // it is still on the path closes a circle.
  const state = new Uint8Array(nodes.length) // 0: not visited, 1: on the path, 2: done
  for (let start = 0; start < nodes.length; start++) {
    if (state[start] !== 0) continue
    const path: Array<[node: number, next: number]> = [[start, 0]]
    state[start] = 1
    while (path.length > 0) {
      const top = path[path.length - 1]!
      const [node, next] = top
      const waitsOn = nodes[node]!.waitsOn
      if (next === waitsOn.length) {
        state[node] = 2
        path.pop()
        continue
      }
      top[1] = next + 1
      const waited = waitsOn[next]!
      if (state[waited] === 1) {
        const { client, clock } = nodes[waited]!.struct.id
        return `${client}:${clock}`
      }
      if (state[waited] === 0) {
        state[waited] = 1
        path.push([waited, 0])
      }
    }
  }
  return undefined
}
