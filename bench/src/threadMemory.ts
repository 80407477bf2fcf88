/**
 * Owns reading a server's memory per thread through its inspector: the
 * process's RSS as the scenario left it, then a full garbage collection of
 * every thread (the main one and each worker, e.g. Concord's SQLite store
 * worker) and each thread's V8 heap and the RSS after it. The inspector's
 * HeapProfiler.collectGarbage is the same full collection as --expose-gc's
 * gc(), asked from outside so that every server runs unchanged.
 */
import { sampleProcess } from './processSample.js'
import { openSocket } from './wire.js'

export interface ThreadHeap {
  /** `main`, or the worker's title. */
  readonly thread: string
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  /** Memory held by JavaScript objects outside the V8 heap (Buffers and the like). */
  readonly externalBytes: number
}

export interface MemoryReading {
  /** As the scenario left it, before any collection. */
  readonly rssBytes: number
  readonly rssAfterGcBytes: number
  readonly threads: ThreadHeap[]
}

interface Reply {
  readonly id?: number
  readonly method?: string
  readonly params?: { sessionId?: string; message?: string; workerInfo?: { title?: string; url?: string } }
  readonly result?: { result?: { value?: string } }
}

const heapOf = (thread: string, json: string | undefined): ThreadHeap => {
  const usage = JSON.parse(json ?? '{}') as { heapUsed: number; heapTotal: number; external: number }
  return { thread, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, externalBytes: usage.external }
}

const usageExpression = {
  expression: 'JSON.stringify(process.memoryUsage())',
  returnByValue: true,
}

export const readThreadMemory = async (pid: number, inspectorUrl: string): Promise<MemoryReading> => {
  const rssBytes = sampleProcess(pid).rssBytes
  const inspector = await openSocket(inspectorUrl)
  let nextId = 1
  const waiting = new Map<string, (reply: Reply) => void>()
  const workers: Array<{ sessionId: string; title: string }> = []
  inspector.on('message', (data: Buffer) => {
    const reply = JSON.parse(data.toString()) as Reply
    if (reply.method === 'NodeWorker.attachedToWorker' && reply.params?.sessionId) {
      const info = reply.params.workerInfo
      const title = info?.url?.includes('sqliteStoreWorker') ? 'store worker' : (info?.title ?? 'worker')
      workers.push({ sessionId: reply.params.sessionId, title })
    } else if (reply.method === 'NodeWorker.receivedMessageFromWorker' && reply.params?.message) {
      const inner = JSON.parse(reply.params.message) as Reply
      waiting.get(`${reply.params.sessionId}:${inner.id}`)?.(inner)
    } else if (reply.id !== undefined) waiting.get(`main:${reply.id}`)?.(reply)
  })
  const call = (method: string, params: object = {}, sessionId?: string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      const key = `${sessionId ?? 'main'}:${id}`
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method}`)), 30_000)
      waiting.set(key, (reply) => {
        clearTimeout(timer)
        waiting.delete(key)
        resolve(reply)
      })
      const message = JSON.stringify({ id, method, params })
      if (sessionId === undefined) inspector.send(message)
      else {
        inspector.send(
          JSON.stringify({ id: nextId++, method: 'NodeWorker.sendMessageToWorker', params: { sessionId, message } }),
        )
      }
    })
  try {
    await call('NodeWorker.enable', { waitForDebuggerOnStart: false })
    // The workers already running are announced right after enable.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const threads: ThreadHeap[] = []
    for (const worker of workers) {
      await call('HeapProfiler.collectGarbage', {}, worker.sessionId)
      const reply = await call('Runtime.evaluate', usageExpression, worker.sessionId)
      threads.push(heapOf(worker.title, reply.result?.result?.value))
    }
    await call('HeapProfiler.collectGarbage')
    const main = await call('Runtime.evaluate', usageExpression)
    threads.unshift(heapOf('main', main.result?.result?.value))
    await call('NodeWorker.disable')
    return { rssBytes, rssAfterGcBytes: sampleProcess(pid).rssBytes, threads }
  } finally {
    inspector.close()
  }
}
