/**
 * Owns `useDocument(id)`: the DocHandle of a document for a component, from
 * the provider's registry, held while the component is mounted. Every
 * component that asks for the same id gets the same handle; the last one to
 * unmount lets it close (deferred, see documentRegistry.ts).
 */
import type { DocHandle } from '@concord/client'
import { useEffect, useReducer } from 'react'
import { useConcordContext } from './concordProvider.js'

/**
 * The handle of document `id`, opened on first use and shared with every
 * other component of the same provider's client that asks for `id`. Do not
 * `close()` it yourself: it closes when the last component holding it
 * unmounts. Throws (to the nearest error boundary) a `ConcordError` with code
 * `invalidDocumentName` for a name the relay would refuse.
 */
export const useDocument = (id: string): DocHandle => {
  const { registry } = useConcordContext()
  const [, rerender] = useReducer((count: number) => count + 1, 0)
  const handle = registry.get(id)
  useEffect(() => {
    // Rendered long enough ago for the registry to have closed that handle (a suspended render): take the new one.
    if (registry.retain(id) !== handle) rerender()
    return () => registry.release(id)
  }, [registry, id, handle])
  return handle
}
