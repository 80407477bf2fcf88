/** Owns asking a server under test for a full garbage collection before its memory is read. */
import { InspectorSession } from '../inspectorSession.js'
import { collectEveryThread } from '../threadMemory.js'

/**
 * Asks the server's V8, through its inspector, for a full garbage collection
 * of every thread (the main one and each worker), so that an RSS reading
 * holds what the connections keep, not what they left.
 */
export const collectGarbage = async (inspectorUrl: string): Promise<void> => {
  const session = await InspectorSession.open(inspectorUrl)
  try {
    await collectEveryThread(session)
  } finally {
    await session.close()
  }
}
