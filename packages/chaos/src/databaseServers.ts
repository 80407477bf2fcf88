/**
 * Owns the database servers of `--cluster`: one real PostgreSQL (initdb and
 * pg_ctl in a temp folder, as an unprivileged user when run as root, since
 * PostgreSQL refuses root) and one real redis-server, both on free loopback
 * ports, each with the faults the schedule asks for: PostgreSQL restarted,
 * redis-server SIGKILLed and started again on the same port. Both stop with
 * the harness, by `stop()` or at its exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

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
    if (Date.now() > deadline) throw new Error(`${what} did not listen on port ${port} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const binary = (name: string, folders: readonly string[]): string => {
  for (const folder of folders) if (existsSync(join(folder, name))) return join(folder, name)
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
  if (onPath) return onPath
  throw new Error(`${name} is not installed: --cluster needs PostgreSQL and redis-server`)
}

const postgresFolders = (): string[] => {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return []
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
}

/** PostgreSQL refuses to run as root: then it runs as `postgres` (or `nobody`). */
const serverUser = (): { user: string; uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  for (const user of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' })
    if (uid.status === 0 && gid.status === 0) return { user, uid: Number(uid.stdout), gid: Number(gid.stdout) }
  }
  throw new Error('running as root with no postgres or nobody user to run PostgreSQL as')
}

const stops = new Set<() => void>()
process.once('exit', () => {
  for (const stop of stops) stop()
})

export interface Postgres {
  readonly port: number
  /** postgres://USER@127.0.0.1:PORT/postgres, trust authentication on loopback. */
  url(port?: number): string
  /** A fast restart: every connection dropped, the server back on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export const startPostgres = async (): Promise<Postgres> => {
  const folders = postgresFolders()
  const initdb = binary('initdb', folders)
  const pgCtl = binary('pg_ctl', folders)
  const owner = serverUser()
  const dir = await mkdtemp(join(tmpdir(), 'concord-chaos-pg-'))
  const dataDir = join(dir, 'data')
  if (owner) {
    await chown(dir, owner.uid, owner.gid)
    await chmod(dir, 0o700)
  }
  const run = (command: string, args: string[]): void => {
    const [file, fileArgs] = owner ? ['runuser', ['-u', owner.user, '--', command, ...args]] : [command, args]
    const result = spawnSync(file, fileArgs, { encoding: 'utf8', cwd: dir })
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`)
  }
  const user = owner?.user ?? userInfo().username
  run(initdb, ['-D', dataDir, '-U', user, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'])
  const port = await freePort()
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=on -c max_connections=100`
  const start = () => run(pgCtl, ['-D', dataDir, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '30', 'start'])
  const halt = () => run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'])
  start()
  let stopped = false
  const stopNow = () => {
    if (stopped) return
    stopped = true
    stops.delete(stopNow)
    try {
      halt()
    } catch {
      // Already down.
    }
  }
  stops.add(stopNow)
  return {
    port,
    url: (through = port) => `postgres://${user}@127.0.0.1:${through}/postgres`,
    restart: async () => {
      // Immediate: like a crash, PostgreSQL recovers from its WAL on the way up.
      halt()
      start()
      await waitForPort(port, 'PostgreSQL')
    },
    stop: async () => {
      stopNow()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface Redis {
  readonly port: number
  readonly url: string
  readonly running: boolean
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

export const startRedis = async (): Promise<Redis> => {
  const redisServer = binary('redis-server', [])
  const dir = await mkdtemp(join(tmpdir(), 'concord-chaos-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async (): Promise<void> => {
    if (child) return
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
    child = spawn(redisServer, args, { stdio: 'ignore' })
    await waitForPort(port, 'redis-server')
  }
  const kill = async (): Promise<void> => {
    const current = child
    child = undefined
    if (!current || current.exitCode !== null || current.signalCode !== null) return
    const exited = new Promise((resolve) => current.once('exit', resolve))
    current.kill('SIGKILL')
    await exited
  }
  const killNow = () => child?.kill('SIGKILL')
  stops.add(killNow)
  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined
    },
    kill,
    start: launch,
    stop: async () => {
      stops.delete(killNow)
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
