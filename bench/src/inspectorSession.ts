/**
 * Owns one Chrome DevTools Protocol session with a server under test, through
 * the inspector every server runs with: calls on its main thread and on each of
 * its worker threads (reached through the inspector's NodeWorker domain, e.g.
 * Concord's SQLite store worker), and the events they send back. Nothing in the
 * server is changed to be measured this way.
 */
import type { WebSocket } from 'ws'
import { openSocket } from './wire.js'

export interface InspectorThread {
  /** `main`, `store worker` (Concord's SQLite thread), `version worker`, or the worker's title. */
  readonly name: string
  /** Undefined for the main thread. */
  readonly sessionId: string | undefined
}

interface Message {
  readonly id?: number
  readonly method?: string
  readonly params?: {
    sessionId?: string
    message?: string
    workerInfo?: { title?: string; url?: string }
    chunk?: string
  }
  readonly result?: { result?: { value?: string } }
  readonly error?: { message?: string }
}

const threadName = (url: string | undefined, title: string | undefined): string => {
  if (url?.includes('sqliteStoreWorker')) return 'store worker'
  if (url?.includes('versionStateWorker')) return 'version worker'
  return title ?? 'worker'
}

const callTimeoutMs = 60_000

export class InspectorSession {
  #nextId = 1
  readonly #waiting = new Map<string, (message: Message) => void>()
  readonly #workers: InspectorThread[] = []
  readonly #listeners = new Set<(thread: string, message: Message) => void>()

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.#receive(JSON.parse(data.toString()) as Message))
  }

  /** Opens a session and attaches to every worker thread running now. */
  static async open(inspectorUrl: string): Promise<InspectorSession> {
    const session = new InspectorSession(await openSocket(inspectorUrl))
    await session.call('NodeWorker.enable', { waitForDebuggerOnStart: false })
    // The workers already running are announced right after enable.
    await new Promise((resolve) => setTimeout(resolve, 300))
    return session
  }

  /** The main thread first, then each worker. */
  get threads(): InspectorThread[] {
    return [{ name: 'main', sessionId: undefined }, ...this.#workers]
  }

  /** Calls `method` on `thread` (the main one by default) and resolves with its result. */
  call(method: string, params: object = {}, thread?: InspectorThread): Promise<Message> {
    const sessionId = thread?.sessionId
    return new Promise((resolve, reject) => {
      const id = this.#nextId++
      const key = `${sessionId ?? 'main'}:${id}`
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method}`)), callTimeoutMs)
      this.#waiting.set(key, (reply) => {
        clearTimeout(timer)
        this.#waiting.delete(key)
        if (reply.error) reject(new Error(`${method}: ${reply.error.message ?? 'failed'}`))
        else resolve(reply)
      })
      const message = JSON.stringify({ id, method, params })
      if (sessionId === undefined) this.socket.send(message)
      else {
        this.socket.send(
          JSON.stringify({
            id: this.#nextId++,
            method: 'NodeWorker.sendMessageToWorker',
            params: { sessionId, message },
          }),
        )
      }
    })
  }

  /** Evaluates `expression` on `thread` (with the command line API, so `require` works) and returns its value. */
  async evaluate(expression: string, thread?: InspectorThread): Promise<string | undefined> {
    const reply = await this.call(
      'Runtime.evaluate',
      { expression, returnByValue: true, includeCommandLineAPI: true },
      thread,
    )
    return reply.result?.result?.value
  }

  /** Listens to the events of every thread (name, event) until the returned function is called. */
  onEvent(listener: (thread: string, message: Message) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async close(): Promise<void> {
    await this.call('NodeWorker.disable').catch(() => undefined)
    this.socket.close()
  }

  #receive(message: Message): void {
    if (message.method === 'NodeWorker.attachedToWorker' && message.params?.sessionId) {
      const info = message.params.workerInfo
      this.#workers.push({ name: threadName(info?.url, info?.title), sessionId: message.params.sessionId })
    } else if (message.method === 'NodeWorker.receivedMessageFromWorker' && message.params?.message) {
      const inner = JSON.parse(message.params.message) as Message
      const sessionId = message.params.sessionId
      if (inner.id !== undefined) this.#waiting.get(`${sessionId}:${inner.id}`)?.(inner)
      else {
        const name = this.#workers.find((worker) => worker.sessionId === sessionId)?.name ?? 'worker'
        for (const listener of this.#listeners) listener(name, inner)
      }
    } else if (message.id !== undefined) this.#waiting.get(`main:${message.id}`)?.(message)
    else for (const listener of this.#listeners) listener('main', message)
  }
}
