/**
 * Owns `usePresence(handle)`: the presence (awareness) states of the other
 * clients of a document, as one array that changes only when one of them
 * does, and setters for this client's own state.
 *
 * Other clients' states are whatever they sent: anything. Pass `parse` to
 * keep only the states the app can show (a name of bounded length, a colour
 * it can put in CSS); a state it rejects is left out, as if absent.
 */
import type { DocHandle } from '@concord/client'
import { useCallback, useMemo, useSyncExternalStore } from 'react'
import { useCurrentAwareness } from './currentDoc.js'
import { shareEqualParts } from './sharedSnapshot.js'

export interface Peer<State> {
  /** The Yjs client id of the other client. */
  readonly clientId: number
  readonly state: State
}

export interface PresenceOptions<State> {
  /**
   * Turns a state received from another client into one the app trusts, or
   * undefined to leave that client out (a parse that throws leaves it out too). Called once per state received (the
   * result is kept while the state does not change). Keep it stable (a
   * module-level function), or the snapshot is rebuilt on every render.
   */
  readonly parse?: (state: Record<string, unknown>) => State | undefined
}

export interface Presence<State> {
  /** The other clients with a (parsed) state, in client id order. */
  readonly others: readonly Peer<State>[]
  /** Replaces this client's state; `null` says "gone" to the others. */
  readonly setLocalState: (state: State | null) => void
  /** Sets one field of this client's state, keeping the others. */
  readonly setLocalField: <Key extends keyof State & string>(field: Key, value: State[Key]) => void
}

type Awareness = DocHandle['awareness']

const keepAsIs = <State>(state: Record<string, unknown>): State => state as State

/** A state that makes `parse` throw is one it rejects: another client's state must not break this page. */
const parseSafely = <State>(
  parse: (state: Record<string, unknown>) => State | undefined,
  raw: Record<string, unknown>,
): State | undefined => {
  try {
    return parse(raw)
  } catch {
    return undefined
  }
}

/** A subscription to the others' states of one awareness, through one parse function. */
const presenceStore = <State>(awareness: Awareness, parse: (state: Record<string, unknown>) => State | undefined) => {
  // Per client: the last state received and what parse made of it. Awareness stores a new object even for a
  // state sent again unchanged, so an equal result keeps the previous one (and the snapshot its identity).
  let parsed = new Map<number, { readonly raw: object; readonly value: State | undefined }>()
  let snapshot: readonly Peer<State>[] = []
  const compute = (): readonly Peer<State>[] => {
    const next: Peer<State>[] = []
    const nextParsed = new Map<number, { readonly raw: object; readonly value: State | undefined }>()
    for (const [clientId, raw] of awareness.getStates()) {
      if (clientId === awareness.clientID || typeof raw !== 'object' || raw === null) continue
      const previous = parsed.get(clientId)
      const value = previous?.raw === raw ? previous.value : shareEqualParts(previous?.value, parseSafely(parse, raw))
      nextParsed.set(clientId, { raw, value })
      if (value !== undefined) next.push({ clientId, state: value })
    }
    parsed = nextParsed
    next.sort((a, b) => a.clientId - b.clientId)
    const unchanged =
      next.length === snapshot.length &&
      next.every((peer, index) => peer.clientId === snapshot[index]?.clientId && peer.state === snapshot[index]?.state)
    return unchanged ? snapshot : next
  }
  const listeners = new Set<() => void>()
  // 'change', not 'update': the periodic renewals of unchanged states are not news.
  const onAwarenessChange = (): void => {
    snapshot = compute()
    for (const listener of [...listeners]) listener()
  }
  return {
    subscribe(onChange: () => void): () => void {
      if (listeners.size === 0) awareness.on('change', onAwarenessChange)
      listeners.add(onChange)
      return () => {
        listeners.delete(onChange)
        if (listeners.size === 0) awareness.off('change', onAwarenessChange)
      }
    },
    getSnapshot(): readonly Peer<State>[] {
      // Unsubscribed, nothing keeps the snapshot current: read it (the same array while nothing changed).
      if (listeners.size === 0) snapshot = compute()
      return snapshot
    },
  }
}

/**
 * The presence of the other clients of `handle`'s document, re-rendering
 * when one of them changes (and not when only this client's does), and
 * setters for this client's state.
 */
export const usePresence = <State = Record<string, unknown>>(
  handle: DocHandle,
  options: PresenceOptions<State> = {},
): Presence<State> => {
  // A fork of the document replaces its awareness too.
  const awareness = useCurrentAwareness(handle)
  const parse = options.parse ?? keepAsIs<State>
  const store = useMemo(() => presenceStore(awareness, parse), [awareness, parse])
  const others = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot)
  const setLocalState = useCallback(
    (state: State | null) => awareness.setLocalState(state as Record<string, unknown> | null),
    [awareness],
  )
  const setLocalField = useCallback(
    <Key extends keyof State & string>(field: Key, value: State[Key]) => awareness.setLocalStateField(field, value),
    [awareness],
  )
  return useMemo(() => ({ others, setLocalState, setLocalField }), [others, setLocalState, setLocalField])
}
