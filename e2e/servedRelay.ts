/**
 * Owns the relay the browsers talk to: the built concord-relay (a
 * `RelayProcess` of @concord/relay-service/testing) on a loopback port, with
 * its SQLite store in a temporary folder, serving the built demo (or another
 * app's build: `start({ app })`). A test can kill it (SIGKILL, as a crash)
 * and start it again on the same port and data, as happens to a real one.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RelayProcess, relayMainScript } from '@concord/relay-service/testing'

/** The apps whose builds a relay can serve, by their folder in apps/. */
export type ServedApp = 'demo' | 'notes-react'
const appDist = (app: ServedApp): string => fileURLToPath(new URL(`../apps/${app}/dist`, import.meta.url))
const startTimeoutMs = 15_000

export class ServedRelay {
  readonly #dataDir: string
  readonly #app: ServedApp
  /** 0 until the first start picks a free port; the same one on every restart. */
  #port = 0
  #process: RelayProcess | undefined

  private constructor(dataDir: string, app: ServedApp) {
    this.#dataDir = dataDir
    this.#app = app
  }

  /** Starts a relay on a free port with an empty store, serving `app` (default: the demo). */
  static async start({ app = 'demo' }: { readonly app?: ServedApp } = {}): Promise<ServedRelay> {
    for (const [file, what] of [
      [relayMainScript, 'the relay'],
      [join(appDist(app), 'index.html'), `apps/${app}`],
    ] as const) {
      if (!existsSync(file)) throw new Error(`${file} is missing: build ${what} first (\`pnpm test:e2e\` does)`)
    }
    const relay = new ServedRelay(await mkdtemp(join(tmpdir(), 'concord-e2e-')), app)
    await relay.restart()
    return relay
  }

  /** http://127.0.0.1:PORT: the demo, and the relay's WebSocket on the same origin. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  /** Starts the relay (again: on the same port and data folder); resolves once it is listening. */
  async restart(): Promise<void> {
    if (this.#process) throw new Error('the relay is already running')
    // CONCORD_E2E_LOG=debug (or info) shows the relay's logs; otherwise only a relay that dies by itself speaks.
    const logLevel = process.env.CONCORD_E2E_LOG ?? 'warn'
    const relay = await RelayProcess.start({
      args: ['--host', '127.0.0.1', '--port', String(this.#port), '--data', this.#dataDir, '--log-level', logLevel],
      env: { CONCORD_STATIC_DIR: appDist(this.#app) },
      startTimeoutMs,
      ...(process.env.CONCORD_E2E_LOG && { onStderr: (chunk: Buffer) => void process.stderr.write(chunk) }),
    })
    this.#process = relay
    this.#port = relay.port
    void relay.exited.then(({ code, signal }) => {
      if (this.#process !== relay) return
      // Not killed by a test: say why, or the failing test only sees pages that cannot connect.
      this.#process = undefined
      if (!process.env.CONCORD_E2E_LOG)
        process.stderr.write(`concord-relay exited (${code ?? signal}):\n${relay.stderr()}\n`)
    })
  }

  /** Kills the relay as a crash would (SIGKILL) and waits until it is gone. */
  async kill(): Promise<void> {
    const relay = this.#process
    this.#process = undefined
    await relay?.kill()
  }

  /** Kills the relay and removes its data. */
  async dispose(): Promise<void> {
    await this.kill()
    await rm(this.#dataDir, { recursive: true, force: true })
  }
}
