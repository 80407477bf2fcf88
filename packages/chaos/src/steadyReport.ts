/**
 * Owns when a replica process answers the harness's `report`: once no
 * lifecycle is replacing its client and every document it has open has
 * loaded what the device store holds, and then at once, in the same
 * microtask as that check.
 *
 * Why: Node delivers the IPC messages of one read of the channel in one
 * batch of `process.nextTick`s, all before any promise callback. A report
 * that waited one `.then` could so be answered after a lifecycle sent after
 * it had cleared the documents, or before the recreated client's documents
 * loaded: the harness's reload check then saw no document at all and
 * counted every committed write of the replica as lost (seed 45, at a load
 * average of ~20).
 */

export interface ReplicaDocuments<Handle extends { whenLoaded(): Promise<void> }> {
  /** The lifecycle replacing the client (destroy, then a new client), while one runs. */
  readonly replacing: () => Promise<void> | undefined
  /** The documents open now. */
  readonly handles: () => ReadonlyMap<string, Handle>
}

/** Calls `answer` with the open documents once they are steady (see above). */
export const answerWhenSteady = async <Handle extends { whenLoaded(): Promise<void> }>(
  replica: ReplicaDocuments<Handle>,
  answer: (handles: ReadonlyMap<string, Handle>) => void,
): Promise<void> => {
  for (;;) {
    const replacing = replica.replacing()
    if (replacing) {
      await replacing.catch(() => {})
      continue
    }
    const open = [...replica.handles()]
    await Promise.all(open.map(([, handle]) => handle.whenLoaded().catch(() => {})))
    // A lifecycle may have run while the loads were awaited: check again, then answer without yielding.
    const now = replica.handles()
    if (replica.replacing() || now.size !== open.length || open.some(([doc, handle]) => now.get(doc) !== handle))
      continue
    answer(now)
    return
  }
}
