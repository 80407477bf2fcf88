/**
 * Owns reading a handle's doc and awareness in a component so that it
 * re-renders when they are replaced: a clock squat's victim forks to a new
 * Y.Doc (the handle's `replaced` event), and everything bound to the old one
 * (useY stores, presence, editors) must bind to the new one. Read through
 * `useSyncExternalStore`, so a fork between a render and its effects is not
 * missed.
 */
import type { DocHandle } from '@concord/client'
import { useCallback, useSyncExternalStore } from 'react'

const useReplaced = (handle: DocHandle) =>
  useCallback(
    (onChange: () => void) => {
      handle.on('replaced', onChange)
      return () => handle.off('replaced', onChange)
    },
    [handle],
  )

/** `handle.doc`, as of this render; a fork re-renders with the new one. */
export const useCurrentDoc = (handle: DocHandle): DocHandle['doc'] => {
  const subscribe = useReplaced(handle)
  const read = useCallback(() => handle.doc, [handle])
  return useSyncExternalStore(subscribe, read, read)
}

/** `handle.awareness`, as of this render; a fork re-renders with the new one. */
export const useCurrentAwareness = (handle: DocHandle): DocHandle['awareness'] => {
  const subscribe = useReplaced(handle)
  const read = useCallback(() => handle.awareness, [handle])
  return useSyncExternalStore(subscribe, read, read)
}
