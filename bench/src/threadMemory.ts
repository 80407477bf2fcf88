/**
 * Owns reading a server's memory per thread through its inspector: the
 * process's RSS as the scenario left it, then a full garbage collection of
 * every thread (the main one and each worker, e.g. Concord's SQLite store
 * worker), each thread's V8 heap (by space) and the RSS after it, and where
 * that RSS is by kind of mapping (processMappings.ts). The inspector's
 * HeapProfiler.collectGarbage is the same full collection as --expose-gc's
 * gc(), asked from outside so that every server runs unchanged.
 */
import { createWriteStream } from 'node:fs'
import { InspectorSession, type InspectorThread } from './inspectorSession.js'
import { readProcessMappings, type ProcessMappings } from './processMappings.js'
import { sampleProcess } from './processSample.js'

export interface ThreadHeap {
  /** `main`, or the worker's name (see inspectorSession.ts). */
  readonly thread: string
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  /** Memory held by JavaScript objects outside the V8 heap (Buffers and the like). */
  readonly externalBytes: number
  /** Each V8 space's committed bytes (new_space, old_space, code_space, large_object_space, ...). */
  readonly spaces?: Record<string, number>
  /** The same as the scenario left them, before the collection. */
  readonly spacesBeforeGc?: Record<string, number>
  readonly externalBeforeGcBytes?: number
}

export interface MemoryReading {
  /** As the scenario left it, before any collection. */
  readonly rssBytes: number
  readonly rssAfterGcBytes: number
  readonly threads: ThreadHeap[]
  /** Where the RSS after the collection is. */
  readonly mappings?: ProcessMappings
  /** Where it was as the scenario left it. */
  readonly mappingsBeforeGc?: ProcessMappings
}

const usageExpression = `JSON.stringify({
  usage: process.memoryUsage(),
  spaces: Object.fromEntries(require('v8').getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size])),
})`

const heapOf = async (session: InspectorSession, thread: InspectorThread): Promise<ThreadHeap> => {
  const { usage, spaces } = JSON.parse((await session.evaluate(usageExpression, thread)) ?? '{}') as {
    usage: { heapUsed: number; heapTotal: number; external: number }
    spaces: Record<string, number>
  }
  return {
    thread: thread.name,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    spaces,
  }
}

/** A full collection of every thread of the server (workers first, then the main thread). */
export const collectEveryThread = async (session: InspectorSession): Promise<void> => {
  for (const thread of session.threads.slice(1)) await session.call('HeapProfiler.collectGarbage', {}, thread)
  await session.call('HeapProfiler.collectGarbage')
}

export const readThreadMemory = async (pid: number, inspectorUrl: string): Promise<MemoryReading> => {
  const rssBytes = sampleProcess(pid).rssBytes
  const mappingsBeforeGc = readProcessMappings(pid)
  const session = await InspectorSession.open(inspectorUrl)
  try {
    const before: ThreadHeap[] = []
    for (const thread of session.threads) before.push(await heapOf(session, thread))
    await collectEveryThread(session)
    const threads: ThreadHeap[] = []
    for (const [i, thread] of session.threads.entries()) {
      const { spaces, externalBytes } = before[i]!
      threads.push({
        ...(await heapOf(session, thread)),
        spacesBeforeGc: spaces ?? {},
        externalBeforeGcBytes: externalBytes,
      })
    }
    const rssAfterGcBytes = sampleProcess(pid).rssBytes
    return { rssBytes, rssAfterGcBytes, threads, mappings: readProcessMappings(pid), mappingsBeforeGc }
  } finally {
    await session.close()
  }
}

/**
 * Writes a heap snapshot of each thread of the server to `${pathPrefix}-${thread}.heapsnapshot`
 * (open them in Chrome's DevTools, Memory tab; or summarize them with heapSummary.ts), and returns
 * the files written. The snapshot itself starts with a full collection.
 */
export const writeHeapSnapshots = async (inspectorUrl: string, pathPrefix: string): Promise<string[]> => {
  const session = await InspectorSession.open(inspectorUrl)
  const files: string[] = []
  try {
    for (const thread of session.threads) {
      const file = `${pathPrefix}-${thread.name.replace(/\W+/g, '-')}.heapsnapshot`
      const out = createWriteStream(file)
      const stop = session.onEvent((name, message) => {
        if (name === thread.name && message.method === 'HeapProfiler.addHeapSnapshotChunk') {
          out.write(message.params?.chunk ?? '')
        }
      })
      try {
        await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, thread)
      } finally {
        stop()
        await new Promise<void>((resolve, reject) =>
          out.end((error?: Error | null) => (error ? reject(error) : resolve())),
        )
      }
      files.push(file)
    }
    return files
  } finally {
    await session.close()
  }
}
