/**
 * Owns what a replica writes: one random edit per write (Y.Text insert or
 * delete, Y.Map set or delete, Y.Array insert or delete, edits inside nested
 * types), always in the same transaction as one unique element appended to
 * the `elements` array, which is never edited otherwise. The element is what
 * the set checker counts: it is in the final state exactly when its write is.
 */
import * as prng from 'lib0/prng'
import * as Y from 'yjs'

export type Random = prng.PRNG

export const createRandom = (seed: number): Random => prng.create(seed)

/** An integer in [min, max]. */
export const between = (random: Random, min: number, max: number): number => prng.uint32(random, min, max)

/** True with probability `p`. */
export const chance = (random: Random, p: number): boolean => prng.real53(random) < p

export const pick = <T>(random: Random, items: readonly T[]): T => prng.oneOf(random, items as T[])

export const editKinds = [
  'textInsert',
  'textDelete',
  'mapSet',
  'mapDelete',
  'arrayInsert',
  'arrayDelete',
  'nestedMapSet',
  'nestedTextInsert',
  'nestedArrayPush',
] as const

export type EditKind = (typeof editKinds)[number]

const text = (doc: Y.Doc) => doc.getText('text')
const map = (doc: Y.Doc) => doc.getMap<unknown>('map')
const array = (doc: Y.Doc) => doc.getArray<unknown>('array')
export const elementsOf = (doc: Y.Doc): Y.Array<string> => doc.getArray<string>('elements')

const keys = ['a', 'b', 'c', 'd', 'e', 'f']

/** Does one edit of `kind` with values drawn from `random`; must run inside a transaction. */
const edit = (doc: Y.Doc, kind: EditKind, random: Random): void => {
  switch (kind) {
    case 'textInsert':
      text(doc).insert(between(random, 0, text(doc).length), prng.word(random, 1, 6))
      return
    case 'textDelete': {
      const length = text(doc).length
      if (length === 0) return
      const index = between(random, 0, length - 1)
      text(doc).delete(index, between(random, 1, Math.min(4, length - index)))
      return
    }
    case 'mapSet':
      map(doc).set(pick(random, keys), between(random, 0, 1_000_000))
      return
    case 'mapDelete':
      map(doc).delete(pick(random, keys))
      return
    case 'arrayInsert':
      array(doc).insert(between(random, 0, array(doc).length), [prng.word(random, 1, 4)])
      return
    case 'arrayDelete': {
      const length = array(doc).length
      if (length > 0) array(doc).delete(between(random, 0, length - 1), 1)
      return
    }
    case 'nestedMapSet': {
      // A new nested type replaces whatever the key held, as concurrent apps do.
      const nested = new Y.Map<unknown>()
      nested.set('text', new Y.Text(prng.word(random, 1, 4)))
      nested.set('list', Y.Array.from([between(random, 0, 99)]))
      map(doc).set(`nested-${pick(random, keys)}`, nested)
      return
    }
    case 'nestedTextInsert':
    case 'nestedArrayPush': {
      const nested = map(doc).get(`nested-${pick(random, keys)}`)
      if (!(nested instanceof Y.Map)) return
      const target: unknown = nested.get(kind === 'nestedTextInsert' ? 'text' : 'list')
      if (target instanceof Y.Text) target.insert(between(random, 0, target.length), prng.word(random, 1, 3))
      if (target instanceof Y.Array) target.push([between(random, 0, 99)])
      return
    }
  }
}

/** A write as the schedule gives it: which edit, its own random seed, and its unique element. */
export interface Write {
  readonly element: string
  readonly kind: EditKind
  readonly seed: number
}

export const randomWrite = (random: Random, element: string): Write => ({
  element,
  kind: pick(random, editKinds),
  seed: prng.uint32(random, 0, 0x7fffffff),
})

/** Applies `write` to `doc` as one local transaction. */
export const applyWrite = (doc: Y.Doc, write: Write): void => {
  doc.transact(() => {
    edit(doc, write.kind, createRandom(write.seed))
    elementsOf(doc).push([write.element])
  })
}

/** Everything a user can see in the document, as one comparable string. */
export const contentOf = (doc: Y.Doc): string =>
  canonicalJson({
    text: text(doc).toString(),
    map: map(doc).toJSON(),
    array: array(doc).toJSON(),
    elements: elementsOf(doc).toArray(),
  })

/**
 * The state vector as a stable string (entries sorted by client id). Entries at clock 0 are left
 * out: a client known only by a zero-length item is in one copy's vector and not in another's.
 */
export const stateVectorOf = (doc: Y.Doc): string =>
  JSON.stringify(
    [...Y.decodeStateVector(Y.encodeStateVector(doc))].filter(([, clock]) => clock > 0).sort(([a], [b]) => a - b),
  )

/** JSON with object keys sorted: a Y.Map's own key order depends on the order updates arrived in. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )

const elementPattern = /^s\d+\.\d+$/

/** The workload's elements an update carries (a local write's, or several once the client merged rows). */
export const elementsInUpdate = (update: Uint8Array, pattern = elementPattern): string[] => {
  const found: string[] = []
  for (const struct of Y.decodeUpdate(update).structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) continue
    for (const value of struct.content.arr) if (typeof value === 'string' && pattern.test(value)) found.push(value)
  }
  return found
}
