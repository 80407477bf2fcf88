/**
 * Owns one repair of the updates a Y.Doc emits before the client stores and
 * sends them: every GC struct's clocks go into the update's delete set, for
 * the updates of transactions that integrated other clients' structs.
 *
 * Yjs integrates an item as a GC struct when its parent is gone (its left
 * or right neighbour, or its parent type, was garbage-collected), and that
 * GC struct is in no delete set of the transaction's update: the update says
 * "nothing here" without saying that it was deleted. A tab emits that form
 * for another tab's edit when it got the deletion of the edit's parent (from
 * the relay) before the edit (over the tab channel), and stores and sends it
 * as it must (the other tab may die first). The relay lets the deleted form
 * of content agree with the content only where a delete set says it is
 * deleted (else a GC struct could squat a client's clocks), so it took the
 * copy, or the edit itself arriving after the copy, for other content under
 * the editing tab's clocks: refused (4422), and the refused tab forked,
 * which put the edit in the document twice (seed 79 of the chaos cluster).
 *
 * `Y.encodeStateAsUpdate` names every GC struct in its delete set, as a GC
 * struct is deleted content: the repaired update says what a step 2 says.
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'

type DeleteSet = ReturnType<typeof Y.decodeUpdate>['ds']

/** Whether `ds` deletes every clock of `client` from `clock` to `clock + length`, in one of its ranges. */
const deletes = (ds: DeleteSet, client: number, clock: number, length: number): boolean =>
  (ds.clients.get(client) ?? []).some((range) => range.clock <= clock && clock + length <= range.clock + range.len)

/** An update with no structs, and a delete set of `ranges` (v1: each client's ranges as clock, length). */
const deletionsOnly = (ranges: ReadonlyMap<number, ReadonlyArray<readonly [number, number]>>): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0) // no structs
  encoding.writeVarUint(encoder, ranges.size)
  for (const [client, list] of ranges) {
    encoding.writeVarUint(encoder, client)
    encoding.writeVarUint(encoder, list.length)
    for (const [clock, length] of list) {
      encoding.writeVarUint(encoder, clock)
      encoding.writeVarUint(encoder, length)
    }
  }
  return encoding.toUint8Array(encoder)
}

/**
 * Whether the update of `transaction` may hold GC structs outside its delete set: it integrated
 * structs of a client other than the doc's own (an update applied, in any transaction). A keystroke
 * only adds structs of the doc's client, whose GC structs its delete set names, and is not decoded.
 */
export const mayHoldCollected = (transaction: Y.Transaction): boolean => {
  if (!transaction.local) return true
  const { beforeState, afterState, doc } = transaction
  for (const [client, clock] of afterState) {
    if (client !== doc.clientID && clock !== (beforeState.get(client) ?? 0)) return true
  }
  return false
}

/** `update` with the clocks of its GC structs in its delete set; `update` itself when they are there already. */
export const withCollectedDeleted = (update: Uint8Array): Uint8Array => {
  const { structs, ds } = Y.decodeUpdate(update)
  const missing = new Map<number, Array<[number, number]>>()
  for (const struct of structs) {
    if (!(struct instanceof Y.GC)) continue
    const { client, clock } = struct.id
    if (deletes(ds, client, clock, struct.length)) continue
    const list = missing.get(client) ?? []
    missing.set(client, list)
    list.push([clock, struct.length])
  }
  return missing.size === 0 ? update : Y.mergeUpdates([update, deletionsOnly(missing)])
}
