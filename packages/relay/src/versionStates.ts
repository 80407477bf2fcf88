/**
 * Owns the relay's side of the version-state worker (versionStateWorker.ts):
 * it starts the worker at the first version (or restore) it is asked for,
 * hands it each document's updates, and ends it once it has been idle a while, so that a
 * relay that takes a version every few minutes does not keep a second V8
 * isolate for it in between. A worker that dies rejects what it had and is
 * started afresh at the next request.
 */
import type { Worker } from 'node:worker_threads'
import type { CanonicalState } from './canonicalState.js'
import { RootTypeError, VersionStateError } from './errors.js'
import { startModuleWorker } from './moduleWorker.js'
import { packBytes } from './packedBytes.js'
import type { RootKind } from './restoreContent.js'
import type { VersionStateReply, VersionStateRequest } from './versionStateWorker.js'

/** How long the worker is kept without a request. Starting one costs its thread some tens of milliseconds. */
export const versionWorkerIdleMs = 30_000

interface Pending {
  readonly resolve: (reply: VersionStateReply) => void
  readonly reject: (error: Error) => void
}

export class VersionStates {
  #worker: Worker | undefined
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  #idleTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(private readonly idleMs = versionWorkerIdleMs) {}

  /**
   * The canonical state of the document `updates` make up, computed on the worker. The updates are
   * packed into one buffer (one copy: they are the room's own) that is transferred.
   */
  async canonicalOf(updates: readonly Uint8Array[]): Promise<CanonicalState> {
    const reply = await this.#ask((id) => ({ id, op: 'canonical', updates: packBytes(updates) }))
    if (!('state' in reply)) throw new VersionStateError('the version worker answered with no state')
    return { state: reply.state, contentId: reply.contentId }
  }

  /**
   * The forward edit that restores `version` over the document `held` makes up (restoreEdit.ts),
   * computed on the worker; undefined when nothing differs. Rejects with a RootTypeError as
   * restoreContent throws it, or a VersionStateError.
   */
  async restoreEditOf(
    held: readonly Uint8Array[],
    version: Uint8Array,
    kinds: Readonly<Record<string, RootKind>>,
  ): Promise<Uint8Array | undefined> {
    const updates = packBytes([version, ...held])
    const reply = await this.#ask((id) => ({ id, op: 'restoreEdit', updates, kinds }))
    if (!('edit' in reply)) throw new VersionStateError('the version worker answered with no edit')
    return reply.edit
  }

  #ask(request: (id: number) => VersionStateRequest): Promise<VersionStateReply> {
    if (this.#closed) return Promise.reject(new VersionStateError('the relay is closed'))
    const worker = this.#started()
    const id = this.#nextId++
    const message = request(id)
    return new Promise<VersionStateReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      clearTimeout(this.#idleTimer)
      // A version being computed keeps the process alive, as a store's write does.
      worker.ref()
      worker.postMessage(message, [message.updates.bytes])
    })
  }

  /** Ends the worker; what it was computing is rejected. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#end(new VersionStateError('the relay is closed'))
  }

  #started(): Worker {
    if (this.#worker) return this.#worker
    const worker = startModuleWorker('versionStateWorker')
    worker.on('message', (reply: VersionStateReply) => this.#settle(reply))
    worker.on('error', (error) =>
      this.#lost(worker, new VersionStateError(`the version worker failed: ${error.message}`)),
    )
    worker.on('exit', (exitCode) =>
      this.#lost(worker, new VersionStateError(`the version worker ended unexpectedly (exit code ${exitCode})`)),
    )
    this.#worker = worker
    return worker
  }

  #settle(reply: VersionStateReply): void {
    const pending = this.#pending.get(reply.id)
    if (!pending) return
    this.#pending.delete(reply.id)
    if (!('error' in reply)) pending.resolve(reply)
    else if (reply.rootType) pending.reject(new RootTypeError(reply.rootType.root, reply.rootType.reason))
    else pending.reject(new VersionStateError(reply.error))
    if (this.#pending.size === 0) this.#idle()
  }

  /** Nothing pending: the worker no longer holds the process, and ends if nothing comes for a while. */
  #idle(): void {
    const worker = this.#worker
    if (!worker) return
    worker.unref()
    clearTimeout(this.#idleTimer)
    this.#idleTimer = setTimeout(() => {
      if (this.#worker === worker && this.#pending.size === 0) void this.#end()
    }, this.idleMs)
    this.#idleTimer.unref()
  }

  /** The worker ended or failed while it was the current one: its requests are rejected. */
  #lost(worker: Worker, error: VersionStateError): void {
    if (this.#worker !== worker) return
    this.#worker = undefined
    this.#rejectAll(error)
    void worker.terminate()
  }

  async #end(error?: VersionStateError): Promise<void> {
    clearTimeout(this.#idleTimer)
    const worker = this.#worker
    this.#worker = undefined
    if (error) this.#rejectAll(error)
    await worker?.terminate()
  }

  #rejectAll(error: VersionStateError): void {
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const { reject } of pending) reject(error)
  }
}
