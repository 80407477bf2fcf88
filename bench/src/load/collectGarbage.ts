/** Owns asking a server under test for a full garbage collection before its memory is read. */
import { openSocket } from '../wire.js'

/**
 * Asks the server's V8, through its inspector, for a full garbage collection,
 * so that an RSS reading holds what the connections keep, not what they left.
 */
export const collectGarbage = async (inspectorUrl: string): Promise<void> => {
  const inspector = await openSocket(inspectorUrl)
  const done = new Promise<void>((resolve) =>
    inspector.on('message', (data: Buffer) => (JSON.parse(data.toString()) as { id?: number }).id === 1 && resolve()),
  )
  inspector.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
  await done
  inspector.close()
}
