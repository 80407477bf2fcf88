/**
 * Owns restoring a document's content: one transaction on a Y.Doc that holds the live document
 * which makes every top-level type equal to the same type of another Y.Doc (a version): text with
 * its formatting, embeds and attributes, maps, arrays, XML fragments and elements, nested types.
 * It changes only what differs (the common start and end of text and lists are kept, nested types
 * of the same kind are restored in place), so edits made concurrently elsewhere, offline ones
 * included, merge with it as with any edit.
 *
 * A Yjs update does not say which type a top-level type is. The caller may name them (`kinds`);
 * those it does not name are inferred from their content in the live document and the version:
 * characters, formats and embeds make a text (whatever else it holds), map entries a map, XML nodes
 * an XML fragment, other items an array. A root that is empty in both needs nothing; one whose content fits several, or that
 * contradicts the kind named, is refused with a RootTypeError before anything changes.
 */
import * as Y from 'yjs'
import { RootTypeError } from './errors.js'

export type RootKind = 'text' | 'map' | 'array' | 'xml'

export const rootKinds: readonly RootKind[] = ['text', 'map', 'array', 'xml']

type AnyType = Y.AbstractType<any> // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the content of a top-level type says it is; undefined when it holds nothing visible. */
const kindOfContent = (root: string, type: AnyType): RootKind | undefined => {
  if (type instanceof Y.Text) return 'text'
  if (type instanceof Y.Map) return 'map'
  if (type instanceof Y.Array) return 'array'
  if (type instanceof Y.XmlFragment) return 'xml'
  const kinds = new Set<RootKind>()
  for (const item of type._map.values()) if (!item.deleted) kinds.add('map')
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue
    const { content } = item
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) {
      kinds.add('text')
    } else if (
      content instanceof Y.ContentType &&
      (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText || content.type instanceof Y.XmlHook)
    ) {
      kinds.add('xml')
    } else kinds.add('array')
  }
  // Characters, formats and embeds are a text's alone; a text may also hold attributes (map entries) and types.
  if (kinds.has('text')) return 'text'
  if (kinds.size > 1) throw new RootTypeError(root, `its content fits ${[...kinds].join(' and ')}; name its type`)
  return [...kinds][0]
}

const typedRoot = (doc: Y.Doc, name: string, kind: RootKind): AnyType => {
  switch (kind) {
    case 'text':
      return doc.getText(name)
    case 'map':
      return doc.getMap(name)
    case 'array':
      return doc.getArray(name)
    case 'xml':
      return doc.getXmlFragment(name)
  }
}

/** Plain values (what Y.Map and Y.Array hold beside types) compared by content. */
const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a instanceof Y.AbstractType || b instanceof Y.AbstractType) return false
  if (a instanceof Y.Doc || b instanceof Y.Doc) return a instanceof Y.Doc && b instanceof Y.Doc && a.guid === b.guid
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b))
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key) => key in b && sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  )
}

/** Two types that one can be restored into the other in place. */
const sameKind = (a: unknown, b: unknown): a is AnyType => {
  if (!(a instanceof Y.AbstractType) || !(b instanceof Y.AbstractType) || a.constructor !== b.constructor) return false
  if (a instanceof Y.XmlElement) return a.nodeName === (b as Y.XmlElement).nodeName
  if (a instanceof Y.XmlHook) return a.hookName === (b as Y.XmlHook).hookName
  return true
}

/** A value of the version, to insert into the live document (a type or a sub-document can be inserted once). */
const copyOf = (value: unknown): unknown => {
  if (value instanceof Y.AbstractType) return value.clone()
  if (value instanceof Y.Doc) return new Y.Doc({ guid: value.guid, meta: value.meta, shouldLoad: value.shouldLoad })
  if (value instanceof Uint8Array) return new Uint8Array(value)
  return value
}

/** `live`'s entries (a map's, or an element's attributes) made those of `target`. */
const restoreEntries = (
  live: Map<string, unknown>,
  target: Map<string, unknown>,
  set: (key: string, value: unknown) => void,
  remove: (key: string) => void,
): void => {
  for (const key of live.keys()) if (!target.has(key)) remove(key)
  for (const [key, value] of target) {
    const current = live.get(key)
    if (sameKind(current, value)) restoreType(current, value as AnyType)
    else if (!live.has(key) || !sameValue(current, value)) set(key, copyOf(value))
  }
}

/** The longest common start and end (not overlapping) of two sequences. */
const commonEnds = <T>(live: readonly T[], target: readonly T[], same: (a: T, b: T) => boolean) => {
  let start = 0
  while (start < live.length && start < target.length && same(live[start]!, target[start]!)) start++
  let end = 0
  while (
    end < live.length - start &&
    end < target.length - start &&
    same(live[live.length - 1 - end]!, target[target.length - 1 - end]!)
  ) {
    end++
  }
  return { start, end }
}

const restoreList = (live: Y.Array<unknown> | Y.XmlFragment, target: Y.Array<unknown> | Y.XmlFragment): void => {
  const have = live.toArray() as unknown[]
  const want = target.toArray() as unknown[]
  const matches = (a: unknown, b: unknown): boolean => sameKind(a, b) || sameValue(a, b)
  const { start, end } = commonEnds(have, want, matches)
  const kept = [...Array(start).keys(), ...Array.from({ length: end }, (_, i) => have.length - end + i)]
  for (const i of kept) {
    const j = i < start ? i : want.length - (have.length - i)
    if (sameKind(have[i], want[j])) restoreType(have[i] as AnyType, want[j] as AnyType)
  }
  const removed = have.length - start - end
  if (removed > 0) live.delete(start, removed)
  const added = want.slice(start, want.length - end).map(copyOf)
  if (added.length > 0) (live as Y.Array<unknown>).insert(start, added)
}

/** One unit of a text: a code point or an embed, with its formatting. */
interface TextUnit {
  readonly insert: string | object
  readonly attributes: Record<string, unknown> | undefined
  readonly length: number
}

const unitsOf = (text: Y.Text): TextUnit[] => {
  const units: TextUnit[] = []
  for (const op of text.toDelta() as Array<{ insert: string | object; attributes?: Record<string, unknown> }>) {
    if (typeof op.insert !== 'string') units.push({ insert: op.insert, attributes: op.attributes, length: 1 })
    else for (const point of op.insert) units.push({ insert: point, attributes: op.attributes, length: point.length })
  }
  return units
}

const sameUnit = (a: TextUnit, b: TextUnit): boolean =>
  sameValue(a.attributes ?? {}, b.attributes ?? {}) &&
  (typeof a.insert === 'string' ? a.insert === b.insert : sameValue(a.insert, b.insert))

const restoreText = (live: Y.Text, target: Y.Text): void => {
  const have = unitsOf(live)
  const want = unitsOf(target)
  const { start, end } = commonEnds(have, want, sameUnit)
  const offset = have.slice(0, start).reduce((sum, unit) => sum + unit.length, 0)
  const removed = have.slice(start, have.length - end).reduce((sum, unit) => sum + unit.length, 0)
  if (removed > 0) live.delete(offset, removed)
  let at = offset
  let run = ''
  let runAttributes: Record<string, unknown> = {}
  const flush = (): void => {
    if (run === '') return
    // Attributes given in full: formatting the neighbours have and this run lacks is not inherited.
    live.insert(at, run, { ...runAttributes })
    at += run.length
    run = ''
  }
  for (const unit of want.slice(start, want.length - end)) {
    const attributes = unit.attributes ?? {}
    if (typeof unit.insert !== 'string') {
      flush()
      live.insertEmbed(at, copyOf(unit.insert) as object, { ...attributes })
      at += 1
      continue
    }
    if (run !== '' && !sameValue(attributes, runAttributes)) flush()
    runAttributes = attributes
    run += unit.insert
  }
  flush()
  restoreEntries(
    new Map(Object.entries(live.getAttributes())),
    new Map(Object.entries(target.getAttributes())),
    (key, value) => live.setAttribute(key, value),
    (key) => live.removeAttribute(key),
  )
}

const restoreType = (live: AnyType, target: AnyType): void => {
  if (live instanceof Y.Text) return restoreText(live, target as Y.Text)
  if (live instanceof Y.Map) {
    const map = live as Y.Map<unknown>
    return restoreEntries(
      new Map(map.entries()),
      new Map((target as Y.Map<unknown>).entries()),
      (key, value) => map.set(key, value),
      (key) => map.delete(key),
    )
  }
  if (live instanceof Y.XmlElement) {
    const element = live as Y.XmlElement
    restoreEntries(
      new Map(Object.entries(element.getAttributes())),
      new Map(Object.entries((target as Y.XmlElement).getAttributes())),
      (key, value) => element.setAttribute(key, value as string),
      (key) => element.removeAttribute(key),
    )
  }
  if (live instanceof Y.Array || live instanceof Y.XmlFragment) {
    return restoreList(live as Y.Array<unknown> | Y.XmlFragment, target as Y.Array<unknown> | Y.XmlFragment)
  }
}

/**
 * Makes each top-level type of `live` equal to that of `version`, in one transaction of `live`
 * (with `origin`). Throws a RootTypeError, changing nothing, for a root whose type cannot be told.
 */
export const restoreContent = (
  live: Y.Doc,
  version: Y.Doc,
  kinds: Readonly<Record<string, RootKind>> = {},
  origin: unknown = 'restore',
): void => {
  const roots: Array<[string, RootKind]> = []
  for (const name of new Set([...live.share.keys(), ...version.share.keys(), ...Object.keys(kinds)])) {
    const named = kinds[name]
    const infer = (doc: Y.Doc): RootKind | undefined => {
      const type = doc.share.get(name)
      try {
        return type && kindOfContent(name, type)
      } catch (error) {
        // Content that fits several kinds does not contradict the one named.
        if (named !== undefined && error instanceof RootTypeError) return undefined
        throw error
      }
    }
    const fromLive = infer(live)
    const fromVersion = infer(version)
    for (const seen of [fromLive, fromVersion]) {
      if (seen !== undefined && named !== undefined && seen !== named) {
        throw new RootTypeError(name, `named ${named}, but its content is ${seen}`)
      }
    }
    if (fromLive !== undefined && fromVersion !== undefined && fromLive !== fromVersion) {
      throw new RootTypeError(name, `it is ${fromLive} in the document but ${fromVersion} in the version; name it`)
    }
    const kind = named ?? fromLive ?? fromVersion
    if (kind !== undefined) roots.push([name, kind])
  }
  live.transact(() => {
    for (const [name, kind] of roots) restoreType(typedRoot(live, name, kind), typedRoot(version, name, kind))
  }, origin)
}
