/**
 * Owns one link between a replica and the relay: a loopback TCP proxy that
 * forwards bytes both ways in order, and on command cuts the link (every
 * connection reset, new ones refused), stalls it (connections stay open but
 * nothing moves: only heartbeats can tell), or delays every chunk.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'

export type LinkState = 'up' | 'cut' | 'stalled'

/** One direction of one connection: chunks leave in order, each no earlier than its delay allows. */
class Pipe {
  readonly #queue: Array<{ chunk: Buffer; at: number }> = []
  #timer: ReturnType<typeof setTimeout> | undefined
  constructor(
    readonly to: Socket,
    readonly link: LinkProxy,
  ) {}

  push(chunk: Buffer): void {
    this.#queue.push({ chunk, at: Date.now() + this.link.delayMs })
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
  #targetPort: number
  readonly #server: Server
  readonly #connections = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>()

  private constructor(targetPort: number) {
    this.#targetPort = targetPort
    this.#server = createServer((client) => this.#accept(client))
  }

  /** Starts a proxy on an ephemeral loopback port that forwards to `targetPort`. */
  static async start(targetPort: number): Promise<LinkProxy> {
    const proxy = new LinkProxy(targetPort)
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
    for (const { pipes } of this.#connections) for (const pipe of pipes) pipe.pump()
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
    const connection = { client, upstream, pipes: [new Pipe(upstream, this), new Pipe(client, this)] }
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
