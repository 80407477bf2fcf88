/**
 * Owns the relay under test as a child process: the built concord-relay on
 * SQLite in a data folder, started on an ephemeral loopback port, and
 * stopped by SIGKILL (a crash) or SIGTERM (a graceful stop).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DocStoreFault } from './storageFaults.js'

export const relayScript = fileURLToPath(new URL('../../../apps/relay/dist/main.js', import.meta.url))
/** The relay with a fault-injecting DocStore (`--storage`, and the relay sabotage). */
const chaosRelayScript = fileURLToPath(new URL('./chaosRelayProcess.js', import.meta.url))

export interface RelayVariant {
  /** Run `chaosRelayProcess.js` instead of concord-relay; `acksEarly` is the sabotage. */
  readonly faultyStore: boolean
  readonly acksEarly?: boolean
}

const running = new Set<ChildProcess>()
// If the harness dies, its relay must not outlive it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export class RelayProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly exited: Promise<void>,
  ) {}

  /** The relay's SQLite file in `dataDir`, as concord-relay names it. */
  static storePath(dataDir: string): string {
    return join(dataDir, 'concord.sqlite')
  }

  /**
   * Starts concord-relay on 127.0.0.1 with its store in `dataDir` (or where `extraArgs` say, e.g.
   * `--store postgres://...`); resolves once it printed its start line.
   */
  static async start(
    dataDir: string,
    extraArgs: readonly string[] = [],
    variant: RelayVariant = { faultyStore: false },
  ): Promise<RelayProcess> {
    if (!existsSync(relayScript)) throw new Error(`${relayScript} is missing: run \`pnpm build\` first`)
    const child = variant.faultyStore
      ? spawn(process.execPath, [chaosRelayScript, dataDir, ...(variant.acksEarly ? ['acks-early'] : [])], {
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        })
      : spawn(
          process.execPath,
          // A generous rate limit: the harness writes faster than a person, and a throttled link is not a fault under test.
          [
            relayScript,
            '--port',
            '0',
            '--data',
            dataDir,
            '--log-level',
            'warn',
            '--rate-messages',
            '100000',
            ...extraArgs,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
    running.add(child)
    child.on('error', () => {})
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        running.delete(child)
        resolve()
      }),
    )
    let output = ''
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the relay did not start in 20 s:\n${output}`)), 20_000)
      const read = (chunk: Buffer): void => {
        output += chunk.toString()
        const match = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output)
        if (!match) return
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
      child.stdout?.on('data', read)
      child.stderr?.on('data', read)
      void exited.then(() => reject(new Error(`the relay exited before it started:\n${output}`)))
    })
    // Its warnings and errors go to a log next to its store, for the post-mortem of a failed seed.
    const log = createWriteStream(join(dataDir, 'relay.log'), { flags: 'a' })
    child.stderr?.pipe(log)
    child.stdout?.resume()
    return new RelayProcess(child, port, exited)
  }

  /** Arms a fault of the relay's DocStore (the faulty-store variant only). */
  injectStoreFault(fault: DocStoreFault): boolean {
    if (!this.child.connected) return false
    try {
      return this.child.send(fault, () => {})
    } catch {
      return false
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** The resident set size in bytes, from /proc; undefined where there is none. */
  rss(): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8')
      const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
      return kib === undefined ? undefined : Number(kib) * 1024
    } catch {
      return undefined
    }
  }

  /**
   * Sends `signal` and resolves once the process has exited: true if it did. A relay that has not
   * exited 30 s after SIGTERM is SIGKILLed, and `stop` resolves false.
   */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<boolean> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    if (signal === 'SIGKILL') {
      await this.exited
      return true
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const exitedInTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 30_000))),
    ])
    clearTimeout(timer)
    if (!exitedInTime) {
      this.child.kill('SIGKILL')
      await this.exited
    }
    return exitedInTime
  }
}
