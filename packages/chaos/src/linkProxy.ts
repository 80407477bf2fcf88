/**
 * Owns one link between a replica and the relay: a loopback TCP proxy that
 * forwards bytes both ways in order, and on command cuts the link (every
 * connection reset, new ones refused), stalls it (connections stay open but
 * nothing moves: only heartbeats can tell), or delays every chunk. On a
 * link to redis-server it can also drop pub/sub messages one by one
 * (`dropping`), keeping the stream of replies well formed.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { isPubSubMessage, RespFramer } from './respFrames.js'

export type LinkState = 'up' | 'cut' | 'stalled'

/** One direction of one connection: chunks leave in order, each no earlier than its delay allows. */
class Pipe {
  readonly #queue: Array<{ chunk: Buffer; at: number }> = []
  #timer: ReturnType<typeof setTimeout> | undefined
  constructor(
    readonly to: Socket,
    readonly link: LinkProxy,
    /** Cuts Redis replies into frames, so that single pub/sub messages can be dropped. */
    readonly framer?: RespFramer,
  ) {}

  push(chunk: Buffer): void {
    const at = Date.now() + this.link.delayMs
    if (!this.framer) {
      this.#queue.push({ chunk, at })
    } else {
      for (const frame of this.framer.push(chunk)) {
        if (this.link.dropping && isPubSubMessage(frame)) this.link.dropped++
        else this.#queue.push({ chunk: frame, at })
      }
    }
    this.pump()
  }

  pump(): void {
    if (this.#timer || this.link.state !== 'up') return
    for (let next = this.#queue[0]; next; next = this.#queue[0]) {
      const wait = next.at - Date.now()
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined
          this.pump()
        }, wait)
        return
      }
      this.#queue.shift()
      if (!this.to.destroyed) this.to.write(next.chunk)
    }
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

export class LinkProxy {
  state: LinkState = 'up'
  delayMs = 0
  /** On a Redis link: drop every pub/sub message the server pushes. */
  dropping = false
  dropped = 0
  #targetPort: number
  readonly #resp: boolean
  readonly #server: Server
  readonly #connections = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>()

  private constructor(targetPort: number, resp: boolean) {
    this.#targetPort = targetPort
    this.#resp = resp
    this.#server = createServer((client) => this.#accept(client))
  }

  /** Starts a proxy on an ephemeral loopback port that forwards to `targetPort` (a redis-server's, with `resp`). */
  static async start(targetPort: number, { resp = false } = {}): Promise<LinkProxy> {
    const proxy = new LinkProxy(targetPort, resp)
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Where new connections go, e.g. after the relay restarted on another port. */
  retarget(port: number): void {
    this.#targetPort = port
  }

  cut(): void {
    this.state = 'cut'
    this.#resetAll()
  }

  stall(): void {
    this.state = 'stalled'
  }

  heal(): void {
    this.state = 'up'
    this.delayMs = 0
    this.dropping = false
    for (const { pipes } of this.#connections) for (const pipe of pipes) pipe.pump()
  }

  /** Resets the connections going through, and lets new ones in: a client must reconnect (to a new target). */
  resetConnections(): void {
    this.#resetAll()
  }

  async close(): Promise<void> {
    this.#resetAll()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    client.on('error', () => {})
    if (this.state === 'cut') {
      client.resetAndDestroy()
      return
    }
    const upstream = connect(this.#targetPort, '127.0.0.1')
    const connection = {
      client,
      upstream,
      pipes: [new Pipe(upstream, this), new Pipe(client, this, this.#resp ? new RespFramer() : undefined)],
    }
    const [toUpstream, toClient] = connection.pipes as [Pipe, Pipe]
    this.#connections.add(connection)
    client.on('data', (chunk: Buffer) => toUpstream.push(chunk))
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk))
    const end = (): void => {
      if (!this.#connections.delete(connection)) return
      for (const pipe of connection.pipes) pipe.stop()
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('error', end)
      socket.on('close', end)
    }
  }

  #resetAll(): void {
    for (const connection of [...this.#connections]) {
      for (const pipe of connection.pipes) pipe.stop()
      this.#connections.delete(connection)
      if (!connection.client.destroyed) connection.client.resetAndDestroy()
      if (!connection.upstream.destroyed) connection.upstream.resetAndDestroy()
    }
  }
}
