/**
 * Owns running the built concord-relay as a child process, for everything
 * that must do to a relay what happens to a real one (SIGKILL, SIGTERM, a
 * restart on the same port and data folder): this app's tests, the client's,
 * the chaos harness, the benchmarks and e2e/. A process is ready once it
 * printed its start line (`... listening on ws://HOST:PORT`), so a script
 * that prints the same line (the chaos harness's fault-injecting relay, a
 * benchmark's stock y-websocket server) runs here too. Whatever still runs
 * when this process exits is killed with it. No test framework is loaded,
 * so harnesses outside vitest import it: `@concord/relay-service/testing`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built concord-relay; this file is src/relayProcess.ts or dist/relayProcess.js, both beside dist/. */
export const relayMainScript = fileURLToPath(new URL('../dist/main.js', import.meta.url))

/** Where concord-relay keeps its SQLite store in `dataDir`. */
export const relayStorePath = (dataDir: string): string => join(dataDir, 'concord.sqlite')

export interface RelayProcessOptions {
  /** The relay's flags (or the script's arguments). */
  readonly args?: readonly string[]
  /** Environment variables for the child, over this process's own. */
  readonly env?: NodeJS.ProcessEnv
  /** A script to run instead of concord-relay, which prints the same start line. */
  readonly script?: string
  /** Flags for node itself, before the script: `--cpu-prof`, `--inspect=127.0.0.1:0`. */
  readonly nodeArgs?: readonly string[]
  /** Open an IPC channel, for `send`. */
  readonly ipc?: boolean
  /** How long it may take to print its start line; then it is killed. Default 20 s. */
  readonly startTimeoutMs?: number
  /** Each chunk of its stderr (its logs), as it comes: to a file, or to this process's stderr. */
  readonly onStderr?: (chunk: Buffer) => void
}

export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** The most stderr kept for `stderr()`; a long run keeps its end. */
const keptStderr = 1024 * 1024

const running = new Set<ChildProcess>()
let exitHookAdded = false
const killWithThisProcess = (): void => {
  for (const child of running) child.kill('SIGKILL')
}

export class RelayProcess {
  readonly #stderr: { text: string }

  private constructor(
    readonly child: ChildProcess,
    /** ws://HOST:PORT, as the start line said. */
    readonly url: string,
    /** The line it printed when it started listening. */
    readonly startLine: string,
    /** From spawn to the start line. */
    readonly startMs: number,
    readonly exited: Promise<ProcessExit>,
    stderr: { text: string },
  ) {
    this.#stderr = stderr
  }

  get port(): number {
    return Number(new URL(this.url).port)
  }

  get pid(): number {
    return this.child.pid!
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** What it wrote to stderr so far (its last MiB). */
  stderr(): string {
    return this.#stderr.text
  }

  /** Starts the process; resolves once it printed its start line, rejects (with its stderr) if it does not. */
  static async start(options: RelayProcessOptions = {}): Promise<RelayProcess> {
    const script = options.script ?? relayMainScript
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`pnpm build\` first`)
    if (!exitHookAdded) {
      process.once('exit', killWithThisProcess)
      exitHookAdded = true
    }
    const startedAt = performance.now()
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
      env: { ...process.env, ...options.env },
    })
    running.add(child)
    child.on('error', () => {})
    const exited = new Promise<ProcessExit>((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(child)
        resolve({ code, signal })
      }),
    )
    const stderr = { text: '' }
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr.text += chunk.toString()
      if (stderr.text.length > 2 * keptStderr) stderr.text = stderr.text.slice(-keptStderr)
      options.onStderr?.(chunk)
    })
    const timeoutMs = options.startTimeoutMs ?? 20_000
    const startLine = await new Promise<string>((resolve, reject) => {
      let stdout = ''
      let listening = false
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${stdout}\n${stderr.text}`))
      }, timeoutMs)
      child.stdout!.on('data', (chunk: Buffer) => {
        if (listening) return // the rest is read only so that the pipe never fills
        stdout += chunk.toString()
        // Whole lines only: a chunk may end in the middle of the port.
        const line = stdout
          .split('\n')
          .slice(0, -1)
          .find((candidate) => /listening on ws:\/\/\S+/.test(candidate))
        if (line === undefined) return
        listening = true
        clearTimeout(timer)
        resolve(line)
      })
      void exited.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(new Error(`${script} exited (${code ?? signal}) before it listened:\n${stdout}\n${stderr.text}`))
      })
    })
    const url = /listening on (ws:\/\/\S+)/.exec(startLine)![1]!
    return new RelayProcess(child, url, startLine, performance.now() - startedAt, exited, stderr)
  }

  /** Sends `message` over the IPC channel (`ipc`); false when there is none or it is closed. */
  send(message: unknown): boolean {
    if (!this.child.connected) return false
    try {
      return this.child.send(message as object, () => {})
    } catch {
      return false
    }
  }

  /** The resident set size in bytes, from /proc; undefined where there is none. */
  rss(): number | undefined {
    try {
      const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))?.[1]
      return kib === undefined ? undefined : Number(kib) * 1024
    } catch {
      return undefined
    }
  }

  /**
   * Sends `signal` and resolves once the process has exited: true if it exited by itself in time. A
   * process that has not exited `graceMs` after SIGTERM is SIGKILLed, and `stop` resolves false.
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', graceMs = 30_000): Promise<boolean> {
    if (this.alive) this.child.kill(signal)
    if (signal === 'SIGKILL') {
      await this.exited
      return true
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ])
    clearTimeout(timer)
    if (!inTime) await this.stop('SIGKILL')
    return inTime
  }

  /** SIGKILL, as a crash; resolves once it is gone. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL')
  }
}

const started = new Set<RelayProcess>()

/** Starts concord-relay with exactly these flags and extra environment variables; `killRelayProcesses` stops it. */
export const spawnRelayProcess = async (
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RelayProcess> => {
  const relay = await RelayProcess.start({ args, env })
  started.add(relay)
  void relay.exited.then(() => started.delete(relay))
  return relay
}

/** Starts concord-relay on 127.0.0.1 with its store in `dataDir`; resolves once it printed its start line. */
export const startRelayProcess = (dataDir: string, port = 0, ...args: string[]): Promise<RelayProcess> =>
  spawnRelayProcess(['--port', String(port), '--data', dataDir, ...args])

/** Kills every relay that `spawnRelayProcess` or `startRelayProcess` started and that still runs. */
export const killRelayProcesses = async (): Promise<void> => {
  await Promise.all([...started].map((relay) => relay.kill()))
}
