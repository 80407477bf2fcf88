/**
 * Owns the harness's side of one replica process (native or stock
 * y-websocket): forking it, sending it writes and lifecycles, asking for its
 * state, and crashing it with SIGKILL.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FromReplica, Lifecycle, ReplicaConfig, ReplicaReport, ToReplica } from './replicaMessages.js'
import type { LocalStoreFault } from './storageFaults.js'
import type { Write } from './workload.js'

const scripts = {
  native: fileURLToPath(new URL('./replicaProcess.js', import.meta.url)),
  stock: fileURLToPath(new URL('./stockReplicaProcess.js', import.meta.url)),
  tabs: fileURLToPath(new URL('./tabPairProcess.js', import.meta.url)),
}

/** Everything the replica says but its reports. */
export type ReplicaListener = (message: Exclude<FromReplica, { type: 'report' | 'ready' | 'stopped' }>) => void

/** How long a replica may take to open its store and documents; a loaded machine needs seconds. */
const readyTimeoutMs = 60_000

export class ReplicaProcess {
  readonly #child: ChildProcess
  readonly #exited: Promise<void>
  #reportWaiters: Array<(report: ReplicaReport) => void> = []
  #stderr = ''

  private constructor(child: ChildProcess, listener: ReplicaListener) {
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
    // A send to a replica that is dying fails with EPIPE; it is dead, which the next report shows.
    child.on('error', () => {})
    child.stderr?.on('data', (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk.toString()).slice(-4_000)))
    child.on('message', (message: FromReplica) => {
      if (message.type === 'ready' || message.type === 'stopped') return
      if (message.type !== 'report') {
        listener(message)
      } else {
        const { type: _type, ...report } = message
        for (const resolve of this.#reportWaiters.splice(0)) resolve(report)
      }
    })
  }

  /** Forks a replica; resolves once it has loaded its documents. */
  static async start(config: ReplicaConfig, listener: ReplicaListener) {
    const child = fork(scripts[config.kind], [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    const replica = new ReplicaProcess(child, listener)
    await new Promise<void>((resolve, reject) => {
      // A replica that never gets ready must fail the run, not hang it (once seen: a tab pair at its start).
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`a ${config.kind} replica was not ready within ${readyTimeoutMs} ms:\n${replica.#stderr}`))
      }, readyTimeoutMs)
      child.on('message', (message: FromReplica) => {
        if (message.type !== 'ready') return
        clearTimeout(timer)
        resolve()
      })
      void replica.#exited.then(() => {
        clearTimeout(timer)
        reject(new Error(`a replica exited before it was ready:\n${replica.#stderr}`))
      })
    })
    return replica
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null && this.#child.connected
  }

  get stderr(): string {
    return this.#stderr
  }

  write(doc: string, write: Write): boolean {
    return this.#send({ type: 'write', doc, write })
  }

  killTab(tab: number): boolean {
    return this.#send({ type: 'killTab', tab })
  }

  storeFault(fault: LocalStoreFault): boolean {
    return this.#send({ type: 'storeFault', fault })
  }

  lifecycle(lifecycle: Lifecycle, doc: string, write: Write): boolean {
    return this.#send({ type: 'lifecycle', lifecycle, doc, write })
  }

  /** The replica's sync state, and its content if asked; rejects if it does not answer within `timeoutMs`. */
  report(content: boolean, timeoutMs = 10_000): Promise<ReplicaReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a replica did not report in time')), timeoutMs)
      this.#reportWaiters.push((report) => {
        clearTimeout(timer)
        resolve(report)
      })
      if (!this.#send({ type: 'report', content }))
        reject(
          new Error(
            `the replica is not running (exit ${this.#child.exitCode ?? this.#child.signalCode}):\n${this.#stderr}`,
          ),
        )
    })
  }

  /** A crash: SIGKILL, nothing flushed. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
    await this.#exited
  }

  /** A clean stop: the client closes and stores what it was storing. Killed if it takes over 10 s. */
  async stop(): Promise<void> {
    this.#send({ type: 'stop' })
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
    await this.#exited
    clearTimeout(timer)
  }

  #send(message: ToReplica): boolean {
    if (!this.alive) return false
    try {
      return this.#child.send(message, () => {})
    } catch {
      return false
    }
  }
}
