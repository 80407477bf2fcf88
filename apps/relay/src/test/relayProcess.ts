/**
 * Owns running the built concord-relay as a child process in tests, so they
 * can do to it what happens to a real one: SIGKILL, SIGTERM, a restart on
 * the same port and data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@concord/relay/testing'

export const mainScript = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface RelayProcess {
  readonly child: ChildProcess
  /** ws://127.0.0.1:PORT, as the start line printed it. */
  readonly url: string
  readonly port: number
  /** The line it printed when it started listening. */
  readonly startLine: string
  readonly stderr: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const running = new Set<RelayProcess>()

/** Starts concord-relay on 127.0.0.1 with its store in `dataDir`; resolves once it printed its start line. */
export const startRelayProcess = (dataDir: string, port = 0, ...args: string[]): Promise<RelayProcess> =>
  spawnRelayProcess(['--port', String(port), '--data', dataDir, ...args])

/** Starts concord-relay with exactly these flags and extra environment variables. */
export const spawnRelayProcess = async (
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<RelayProcess> => {
  if (!existsSync(mainScript)) throw new Error(`${mainScript} is missing: run \`pnpm build\` first`)
  const child = spawn(process.execPath, [mainScript, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  await waitFor(() => /listening on/.test(stdout) || child.exitCode !== null, 'the start line', 15_000)
  const url = /listening on (ws:\/\/\S+)/.exec(stdout)?.[1]
  if (!url) throw new Error(`the relay did not start:\n${stdout}\n${stderr}`)
  const startLine = stdout.split('\n').find((line) => line.includes('listening on')) ?? ''
  const relay: RelayProcess = { child, url, port: Number(new URL(url).port), startLine, stderr: () => stderr, exited }
  running.add(relay)
  void exited.then(() => running.delete(relay))
  return relay
}

/** Kills every relay process a test started and is still running. */
export const killRelayProcesses = async (): Promise<void> => {
  const relays = [...running]
  for (const relay of relays) relay.child.kill('SIGKILL')
  await Promise.all(relays.map((relay) => relay.exited))
}
