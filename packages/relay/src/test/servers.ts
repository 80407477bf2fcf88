/**
 * Owns the real database servers that cluster tests and the chaos harness
 * run against: a PostgreSQL cluster (initdb + pg_ctl in a temp folder, run as
 * a non-root user since PostgreSQL refuses root) and redis-server, both on
 * loopback ports picked free, with the faults done to them (a halt, a crash
 * and recovery, a kill). Whatever is started here is stopped by `stop()`,
 * and by process exit as a last resort. It loads no test framework, so it is
 * also the entry point `@concord/relay/testing/servers`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

/** A free TCP port on 127.0.0.1 (closed again at once, so there is a small race; fine on loopback in tests). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

const waitForPort = async (port: number, what: string, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on port ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const findBinary = (name: string, folders: readonly string[]): string => {
  for (const folder of folders) {
    const path = join(folder, name)
    if (existsSync(path)) return path
  }
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (onPath) return onPath
  throw new Error(
    `${name} is not installed: cluster tests need real servers (Debian: apt-get install redis-server postgresql; .ci/run does this)`,
  )
}

/** Debian keeps PostgreSQL's server binaries off PATH, in /usr/lib/postgresql/<version>/bin. */
const postgresBinFolders = (): string[] => {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return []
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
}

const isRoot = (): boolean => process.getuid?.() === 0

/** Runs `command` as the unprivileged user `postgres` (or `nobody`) when we are root, since PostgreSQL refuses root. */
const asServerUser = (): { user: string; uid: number; gid: number } | undefined => {
  if (!isRoot()) return undefined
  for (const user of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', user], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' })
    if (id.status === 0 && gid.status === 0) return { user, uid: Number(id.stdout), gid: Number(gid.stdout) }
  }
  throw new Error('running as root and there is no postgres or nobody user to run PostgreSQL as')
}

const running = new Set<() => Promise<void>>()
process.once('exit', () => {
  // Last resort, synchronous: a test run that crashed must not leave servers behind.
  for (const stop of running) void stop()
})

export interface PostgresServer {
  /** postgres://USER@127.0.0.1:PORT/postgres (trust authentication on loopback). */
  readonly url: string
  readonly port: number
  /** The URL through another port that leads here (a proxy in front of the server). */
  urlThrough(port: number): string
  /** Stops the server (fast shutdown: open connections are terminated), keeping its data. */
  halt(): Promise<void>
  /** Starts a halted server again, on the same port and data. */
  resume(): Promise<void>
  /** Stops the server as a crash would (immediate shutdown) and starts it again: it recovers from its WAL. */
  crash(): Promise<void>
  stop(): Promise<void>
}

export const startPostgres = async (): Promise<PostgresServer> => {
  const folders = postgresBinFolders()
  const initdb = findBinary('initdb', folders)
  const pgCtl = findBinary('pg_ctl', folders)
  const owner = asServerUser()
  const dir = await mkdtemp(join(tmpdir(), 'concord-pg-'))
  const dataDir = join(dir, 'data')
  if (owner) {
    await chown(dir, owner.uid, owner.gid)
    await chmod(dir, 0o700)
  }
  const run = (binary: string, args: string[]) => {
    const [command, commandArgs] = owner ? ['runuser', ['-u', owner.user, '--', binary, ...args]] : [binary, args]
    const result = spawnSync(command, commandArgs, { encoding: 'utf8', cwd: dir })
    if (result.status !== 0) {
      throw new Error(`${binary} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`)
    }
  }
  const user = owner?.user ?? userInfo().username
  run(initdb, ['-D', dataDir, '-U', user, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'])
  const port = await freePort()
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=on -c max_connections=100`
  const start = (): void =>
    run(pgCtl, ['-D', dataDir, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start'])
  start()
  let halted = false
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    running.delete(stop)
    try {
      if (!halted) run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  running.add(stop)
  const halt = async (): Promise<void> => {
    if (halted || stopped) return
    run(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'])
    halted = true
  }
  const resume = async (): Promise<void> => {
    if (!halted || stopped) return
    start()
    halted = false
  }
  const crash = async (): Promise<void> => {
    if (stopped) return
    if (!halted) run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'])
    start()
    halted = false
    await waitForPort(port, 'PostgreSQL')
  }
  const urlThrough = (through: number): string => `postgres://${user}@127.0.0.1:${through}/postgres`
  return { url: urlThrough(port), port, urlThrough, halt, resume, crash, stop }
}

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  /** False between a `halt()` and its `resume()`. */
  readonly running: boolean
  /** Kills the server and starts a new one on the same port (nothing persisted: pub/sub has no state). */
  restart(): Promise<void>
  /** Kills the server, leaving the port closed until `resume()`. */
  halt(): Promise<void>
  /** Starts a halted server again on the same port. */
  resume(): Promise<void>
  stop(): Promise<void>
}

export const startRedis = async (): Promise<RedisServer> => {
  const redisServer = findBinary('redis-server', [])
  const dir = await mkdtemp(join(tmpdir(), 'concord-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  let log = ''
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
    child = spawn(redisServer, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()))
    try {
      await waitForPort(port, 'redis-server')
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${log}`)
    }
  }
  const kill = async (): Promise<void> => {
    const current = child
    child = undefined
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const exited = new Promise((resolve) => current.once('exit', resolve))
    current.kill('SIGKILL')
    await exited
  }
  await launch()
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    running.delete(stop)
    await kill()
    await rm(dir, { recursive: true, force: true })
  }
  running.add(stop)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined
    },
    restart: async () => {
      await kill()
      await launch()
    },
    halt: kill,
    resume: async () => {
      if (!child) await launch()
    },
    stop,
  }
}
