/**
 * Owns which stored updates the relay sets aside (quarantines) rather than
 * serve. The store's log order decides: an update is served if it agrees
 * with every update stored before it. One that contradicts them (content
 * under ids they already hold, which two relays of a cluster can both admit
 * when a writer sends it to each within the Redis delay), or that no merge
 * can take (it does not decode, or Yjs throws on it), is set aside with the
 * reason, and the document is served without it: a merge that throws never
 * takes the whole document down.
 */
import { admitUpdate } from './admitUpdate.js'
import { smallOnesShared } from './bytes.js'
import { KnownClocks } from './knownClocks.js'
import { inspectUpdate, mergeUpdates } from './yjsUpdates.js'

export interface SetAside {
  readonly update: Uint8Array
  /** Its place in the log it came from, oldest first. */
  readonly index: number
  readonly reason: string
}

export interface AdmittedLog {
  /** What to serve, in log order: each update as admitted (repeats of earlier ones removed). */
  readonly updates: Uint8Array[]
  /** The clocks `updates` hold. */
  readonly known: KnownClocks
  readonly setAside: SetAside[]
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Admits each update of `log` against those before it, as the relay admits
 * a client's update against the document. Costs one decode per update, plus
 * a merge of what was kept for the rare update that shares clocks with it
 * past a gap.
 */
export const admitLog = (log: readonly Uint8Array[]): AdmittedLog => {
  const known = new KnownClocks()
  const updates: Uint8Array[] = []
  const setAside: SetAside[] = []
  let merged: Uint8Array | undefined
  log.forEach((update, index) => {
    let admitted: ReturnType<typeof admitUpdate>
    try {
      admitted = admitUpdate(update, known, () => (merged ??= mergeUpdates(updates)))
    } catch (error) {
      setAside.push({ update, index, reason: reasonOf(error) })
      return
    }
    if (!admitted) return
    known.add(admitted.ranges)
    updates.push(admitted.update)
    merged = undefined
  })
  return { updates, known, setAside }
}

/**
 * One update equivalent to all of `updates`. When the merge throws, merges
 * them one at a time instead, setting aside each one that makes it throw
 * (reported to `setAside`): slower, but only ever on that path.
 */
export const mergeSettingAside = (
  updates: readonly Uint8Array[],
  setAside: (aside: SetAside) => void,
): Uint8Array | undefined => {
  try {
    // The tail's updates are small copies; decoding them one by one would malloc each (bytes.ts).
    if (updates.length <= 1) return updates[0]
    return mergeUpdates(smallOnesShared(updates))
  } catch {
    let merged: Uint8Array | undefined
    updates.forEach((update, index) => {
      try {
        // Checked as a client's update is: a merge lets some updates through that a Y.Doc throws on.
        inspectUpdate(update)
        merged = merged ? mergeUpdates([merged, update]) : update
      } catch (error) {
        setAside({ update, index, reason: reasonOf(error) })
      }
    })
    return merged
  }
}
