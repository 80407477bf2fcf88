/**
 * Owns the relay the browsers talk to: the built concord-relay as a child
 * process on a loopback port, with its SQLite store in a temporary folder,
 * serving the built demo (or another app's build: `start({ app })`). A test
 * can kill it (SIGKILL, as a crash) and start it again on the same port and
 * data, as happens to a real one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const mainScript = fileURLToPath(new URL('../apps/relay/dist/main.js', import.meta.url))
/** The apps whose builds a relay can serve, by their folder in apps/. */
export type ServedApp = 'demo' | 'notes-react'
const appDist = (app: ServedApp): string => fileURLToPath(new URL(`../apps/${app}/dist`, import.meta.url))
const startTimeoutMs = 15_000

export class RelayProcess {
  readonly #dataDir: string
  readonly #app: ServedApp
  /** 0 until the first start picks a free port; the same one on every restart. */
  #port = 0
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()

  private constructor(dataDir: string, app: ServedApp) {
    this.#dataDir = dataDir
    this.#app = app
  }

  /** Starts a relay on a free port with an empty store, serving `app` (default: the demo). */
  static async start({ app = 'demo' }: { readonly app?: ServedApp } = {}): Promise<RelayProcess> {
    for (const [file, what] of [
      [mainScript, 'the relay'],
      [join(appDist(app), 'index.html'), `apps/${app}`],
    ] as const) {
      if (!existsSync(file)) throw new Error(`${file} is missing: build ${what} first (\`pnpm test:e2e\` does)`)
    }
    const relay = new RelayProcess(await mkdtemp(join(tmpdir(), 'concord-e2e-')), app)
    await relay.restart()
    return relay
  }

  /** http://127.0.0.1:PORT: the demo, and the relay's WebSocket on the same origin. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  /** Starts the relay (again: on the same port and data folder); resolves once it is listening. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('the relay is already running')
    const args = ['--host', '127.0.0.1', '--port', String(this.#port), '--data', this.#dataDir]
    // CONCORD_E2E_LOG=debug (or info) shows the relay's logs; otherwise only a relay that dies by itself speaks.
    const logLevel = process.env.CONCORD_E2E_LOG ?? 'warn'
    const child = spawn(process.execPath, [mainScript, ...args, '--log-level', logLevel], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CONCORD_STATIC_DIR: appDist(this.#app) },
    })
    this.#child = child
    const killWithTheRunner = (): boolean => child.kill('SIGKILL')
    process.once('exit', killWithTheRunner)
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (process.env.CONCORD_E2E_LOG) process.stderr.write(chunk)
    })
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        process.off('exit', killWithTheRunner)
        if (this.#child === child) {
          // Not killed by a test: say why, or the failing test only sees pages that cannot connect.
          this.#child = undefined
          if (!process.env.CONCORD_E2E_LOG)
            process.stderr.write(`concord-relay exited (${code ?? signal}):\n${stderr}\n`)
        }
        resolve()
      }),
    )
    let stdout = ''
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the relay did not start in ${startTimeoutMs} ms:\n${stderr}`)),
        startTimeoutMs,
      )
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const match = /listening on ws:\/\/(\S+)/.exec(stdout)
        if (match?.[1]) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      child.once('exit', () => {
        clearTimeout(timer)
        reject(new Error(`the relay exited before it listened:\n${stderr}`))
      })
    }).catch(async (error: unknown) => {
      await this.kill()
      throw error
    })
    this.#port = Number(new URL(`ws://${address}`).port)
  }

  /** Kills the relay as a crash would (SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    child?.kill('SIGKILL')
    await this.#exited
  }

  /** Kills the relay and removes its data. */
  async dispose(): Promise<void> {
    await this.kill()
    await rm(this.#dataDir, { recursive: true, force: true })
  }
}
