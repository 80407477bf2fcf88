/**
 * Owns `useY(type)` and its typed forms: the JSON snapshot of a Yjs type
 * (`toJSON()`), read through `useSyncExternalStore` so a concurrent render
 * never sees two versions of it. One store per type, shared by every
 * component: the snapshot is rebuilt only after a transaction changed the
 * type or something inside it (`observeDeep`), and shares every unchanged
 * part with the one before (sharedSnapshot.ts), so an unrelated edit
 * re-renders nothing.
 */
import { useSyncExternalStore } from 'react'
import type * as Y from 'yjs'
import { shareEqualParts } from './sharedSnapshot.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Yjs's own base type is AbstractType<any>.
type AnyType = Y.AbstractType<any>

interface TypeStore {
  readonly subscribe: (onChange: () => void) => () => void
  readonly getSnapshot: () => unknown
}

const stores = new WeakMap<AnyType, TypeStore>()

const storeOf = (type: AnyType): TypeStore => {
  const existing = stores.get(type)
  if (existing) return existing
  let snapshot: unknown = type.toJSON()
  let stale = false
  const listeners = new Set<() => void>()
  const onDeepChange = (): void => {
    stale = true
    for (const listener of [...listeners]) listener()
  }
  const store: TypeStore = {
    subscribe(onChange) {
      if (listeners.size === 0) {
        type.observeDeep(onDeepChange)
        // Changes while nobody observed went unseen.
        stale = true
      }
      listeners.add(onChange)
      return () => {
        listeners.delete(onChange)
        if (listeners.size === 0) type.unobserveDeep(onDeepChange)
      }
    },
    getSnapshot() {
      // Unobserved, nothing says when the type changes: read it each time (still shared with the last).
      if (stale || listeners.size === 0) {
        snapshot = shareEqualParts(snapshot, type.toJSON())
        stale = false
      }
      return snapshot
    },
  }
  stores.set(type, store)
  return store
}

/** The JSON of a Yjs type, as `type.toJSON()` gives it; re-renders when (and only when) it changes. */
export const useY = <Snapshot = unknown>(type: AnyType): Snapshot => {
  const store = storeOf(type)
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot) as Snapshot
}

/** A `Y.Map`'s entries as a plain object (nested Yjs types as their JSON). */
export const useYMap = <Value = unknown>(map: Y.Map<Value>): Readonly<Record<string, Value>> =>
  useY<Readonly<Record<string, Value>>>(map)

/** A `Y.Array`'s items as a plain array (nested Yjs types as their JSON). */
export const useYArray = <Value = unknown>(array: Y.Array<Value>): readonly Value[] => useY<readonly Value[]>(array)

/** A `Y.Text`'s text, without formatting. */
export const useYText = (text: Y.Text): string => useY<string>(text)
