/**
 * Owns one server under test as a child process on a free loopback port: the
 * built concord-relay (apps/relay) with its SQLite store in a folder, the
 * stock y-websocket server, Hocuspocus, or the bare broadcast server (corked
 * or not). Each runs alone in
 * its process so its CPU and memory can be read from /proc.
 */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RelayProcess, relayMainScript } from '@concord/relay-service/testing'
import type { Dialect } from './wire.js'

export type ServerKind = 'concord' | 'y-websocket' | 'hocuspocus' | 'bare-ws-corked' | 'bare-ws' | DiagnosticKind

/**
 * Concord with its store swapped, to tell what storage costs, or the built relay with the
 * y-websocket echo of committed updates off, to tell what the echo costs, or with version history
 * off, to tell what history costs the hot path; only run when named in --servers (or by the
 * history scenario).
 */
export type DiagnosticKind =
  | 'concord-memory'
  | 'concord-sync-normal'
  | 'concord-no-echo'
  | 'concord-no-history'
  /** The built relay of another checkout (`--baseline`), to measure a change against in the same run. */
  | 'concord-baseline'

export const serverKinds: readonly ServerKind[] = ['concord', 'y-websocket', 'hocuspocus', 'bare-ws-corked', 'bare-ws']

/** Hocuspocus multiplexes documents on one socket: each frame starts with the document's name. */
export const dialectOf = (kind: ServerKind): Dialect => (kind === 'hocuspocus' ? 'hocuspocus' : 'y-websocket')

const variantScript = fileURLToPath(new URL('./servers/concordVariant.js', import.meta.url))
/** The kinds that run the built concord-relay itself. */
const relayKinds: readonly ServerKind[] = ['concord', 'concord-no-echo', 'concord-no-history', 'concord-baseline']
type RelayKind = 'concord' | 'concord-no-echo' | 'concord-no-history' | 'concord-baseline'
const isRelayKind = (kind: ServerKind): kind is RelayKind => relayKinds.includes(kind)
const scripts: Record<Exclude<ServerKind, RelayKind>, string> = {
  'y-websocket': fileURLToPath(new URL('./servers/yWebsocketServer.js', import.meta.url)),
  'bare-ws': fileURLToPath(new URL('./servers/bareWsServer.js', import.meta.url)),
  'bare-ws-corked': fileURLToPath(new URL('./servers/bareWsCorkedServer.js', import.meta.url)),
  hocuspocus: fileURLToPath(new URL('./servers/hocuspocusServer.js', import.meta.url)),
  'concord-memory': variantScript,
  'concord-sync-normal': variantScript,
}
const startTimeoutMs = 120_000

/**
 * Diagnostics only, for the built relay (and `concord-baseline`): BENCH_RELAY_NODE_ARGS, flags for
 * node (`--max-semi-space-size=4`), and BENCH_RELAY_ENV, variables (`MALLOC_ARENA_MAX=2`), each
 * separated by spaces. The other servers run without them.
 */
const relayDiagnosticNodeArgs = (): string[] => process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []
const relayDiagnosticEnv = (): Record<string, string> =>
  Object.fromEntries(
    (process.env.BENCH_RELAY_ENV?.split(' ').filter(Boolean) ?? []).map((pair) => {
      const at = pair.indexOf('=')
      return [pair.slice(0, at), pair.slice(at + 1)]
    }),
  )

export interface ServerOptions {
  /** The Concord relay's data folder (it keeps concord.sqlite there). */
  readonly dataDir?: string
  /** Extra flags for node itself, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[]
  /** Open the inspector on a free loopback port, so a measurement can ask for a full garbage collection first. */
  readonly inspect?: boolean
  /** A Yjs update that the y-websocket and Hocuspocus servers load into every document they open. */
  readonly snapshotFile?: string
  /** More flags for the built relay, e.g. --store and --redis for cluster mode. */
  readonly relayArgs?: readonly string[]
  /** `concord-baseline`: the root of the other checkout, built (its apps/relay/dist/main.js runs). */
  readonly baselineRoot?: string
}

/**
 * The relay's per-connection limits are there against abuse, not load: the
 * load generator opens thousands of connections from one address and sends
 * faster than 200 messages a second on one socket, so they are lifted.
 */
const relayBenchFlags = [
  '--rate-messages',
  '1000000000',
  '--rate-bytes',
  String(2 ** 40),
  '--max-connections-per-ip',
  '1000000',
  '--log-level',
  'warn',
]

export class ServerProcess {
  private constructor(
    readonly kind: ServerKind,
    readonly process: RelayProcess,
    /** The inspector's WebSocket, when started with `inspect`. */
    readonly inspectorUrl: string | undefined,
  ) {}

  get url(): string {
    return this.process.url
  }

  /** From spawn to the line that says it listens. */
  get startMs(): number {
    return this.process.startMs
  }

  get child(): ChildProcess {
    return this.process.child
  }

  get pid(): number {
    return this.process.pid
  }

  static async start(kind: ServerKind, options: ServerOptions = {}): Promise<ServerProcess> {
    const args: string[] = []
    if (isRelayKind(kind)) {
      if (!options.dataDir) throw new Error('the Concord relay needs a data folder')
      args.push('--host', '127.0.0.1', '--port', '0', '--data', options.dataDir, ...relayBenchFlags)
    }
    if (isRelayKind(kind)) args.push(...(options.relayArgs ?? []))
    if (kind === 'concord-no-echo') args.push('--no-echo-committed')
    if (kind === 'concord-no-history') args.push('--no-history')
    if (kind === 'concord-memory') args.push('memory', '.')
    if (kind === 'concord-sync-normal') args.push('normal', options.dataDir!)
    if (kind === 'concord-baseline' && !options.baselineRoot) throw new Error('concord-baseline needs --baseline')
    const script =
      kind === 'concord-baseline'
        ? join(options.baselineRoot!, 'apps/relay/dist/main.js')
        : isRelayKind(kind)
          ? relayMainScript
          : scripts[kind]
    const env = {
      ...(options.snapshotFile && { BENCH_SNAPSHOT: options.snapshotFile }),
      ...(isRelayKind(kind) && relayDiagnosticEnv()),
    }
    const server = await RelayProcess.start({
      script,
      args,
      env,
      nodeArgs: [
        ...(options.nodeArgs ?? []),
        ...(isRelayKind(kind) ? relayDiagnosticNodeArgs() : []),
        ...(options.inspect ? ['--inspect=127.0.0.1:0'] : []),
      ],
      startTimeoutMs,
      ...(process.env.BENCH_SERVER_LOG && { onStderr: (chunk: Buffer) => void process.stderr.write(chunk) }),
    })
    const inspectorUrl = /Debugger listening on (ws:\/\/\S+)/.exec(server.stderr())?.[1]
    if (options.inspect && !inspectorUrl) {
      await server.kill()
      throw new Error(`${kind}: the inspector did not say where it listens`)
    }
    return new ServerProcess(kind, server, inspectorUrl)
  }

  /** SIGTERM (the relay then stores everything and exits), SIGKILL after a grace period. */
  async stop(): Promise<void> {
    await this.process.stop('SIGTERM', 20_000)
  }
}
