/**
 * Owns structural sharing between two JSON snapshots of a Yjs type: the new
 * snapshot keeps every object and array of the old one that is deeply equal
 * to its counterpart, so a component that renders one entry of a map or
 * array sees the same reference until that entry changes (and `memo` skips
 * it), although Yjs rebuilt the whole JSON.
 *
 * Values come from other writers, so the walk is bounded: below
 * `maxSharedDepth` levels the new parts are kept as they are (correct, just
 * not shared), and a hostile, deeply nested value cannot exhaust the stack.
 */

/** How deep sharing looks; deeper parts are new objects in every snapshot. */
export const maxSharedDepth = 64

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)

/** `next`, with every part deeply equal to the same part of `previous` replaced by that part. */
export const shareEqualParts = <T>(previous: unknown, next: T, depth = 0): T => {
  if (Object.is(previous, next) || depth >= maxSharedDepth) return next
  if (Array.isArray(previous) && Array.isArray(next)) {
    let same = previous.length === next.length
    const shared = next.map((item: unknown, index) => {
      const part = shareEqualParts(previous[index], item, depth + 1)
      if (part !== previous[index]) same = false
      return part
    })
    return (same ? previous : shared) as T
  }
  if (isPlainObject(previous) && isPlainObject(next)) {
    const keys = Object.keys(next)
    let same = keys.length === Object.keys(previous).length
    const shared: Record<string, unknown> = {}
    for (const key of keys) {
      const part = shareEqualParts(previous[key], next[key], depth + 1)
      if (!Object.hasOwn(previous, key) || part !== previous[key]) same = false
      // A key named __proto__ (JSON from another writer may have one) stays a key, not a prototype.
      Object.defineProperty(shared, key, { value: part, enumerable: true, writable: true, configurable: true })
    }
    return (same ? previous : shared) as T
  }
  if (previous instanceof Uint8Array && next instanceof Uint8Array) {
    return (
      previous.length === next.length && previous.every((byte, index) => byte === next[index]) ? previous : next
    ) as T
  }
  return next
}
