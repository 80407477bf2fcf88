/**
 * Owns `useDocument(id)`: the DocHandle of a document for a component, from
 * the provider's registry, held while the component is mounted. Every
 * component that asks for the same id gets the same handle; the last one to
 * unmount lets it close (deferred, see documentRegistry.ts). A fork of the
 * document (the handle's `replaced` event) re-renders the component, so that
 * what it reads from `handle.doc` is the new doc.
 */
import type { DocHandle } from '@concord/client'
import { useEffect, useReducer } from 'react'
import { useConcordContext } from './concordProvider.js'
import { useCurrentDoc } from './currentDoc.js'

/**
 * The handle of document `id`, opened on first use and shared with every
 * other component of the same provider's client that asks for `id`. Do not
 * `close()` it yourself: it closes when the last component holding it
 * unmounts. Throws (to the nearest error boundary) a `ConcordError` with code
 * `invalidDocumentName` for a name the relay would refuse. Read `handle.doc`
 * in render (or rebind on `replaced`): a fork replaces it, and re-renders.
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
  useCurrentDoc(handle)
  return handle
}
