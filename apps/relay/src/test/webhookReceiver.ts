/**
 * Owns a real webhook receiver for tests: a node:http server on a loopback
 * port that records every request it gets (headers and body) and answers as
 * the test says: 200, 500, or only after a delay (slow). `stop()` takes it
 * down (nothing listens on the port); `start()` brings it back on the same port.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { freePort } from '@concord/relay/testing'
import { webhookHeaders } from '../webhookSignature.js'

export type ReceiverMode = { readonly status: number; readonly delayMs?: number }

export interface ReceivedWebhook {
  readonly id: string
  readonly timestamp: string
  readonly signature: string
  readonly body: string
  /** What the receiver was doing when it got this request. */
  readonly mode: ReceiverMode
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = []
  mode: ReceiverMode = { status: 200 }
  #server: Server | undefined

  private constructor(readonly port: number) {}

  /** A receiver on a free port, not listening yet unless `listening`. */
  static async create(listening = true): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(await freePort())
    if (listening) await receiver.start()
    return receiver
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/concord`
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => {
      const mode = this.mode
      let body = ''
      request.setEncoding('utf8')
      request.on('data', (chunk: string) => (body += chunk))
      request.on('end', () => {
        this.received.push({
          id: String(request.headers[webhookHeaders.id]),
          timestamp: String(request.headers[webhookHeaders.timestamp]),
          signature: String(request.headers[webhookHeaders.signature]),
          body,
          mode,
        })
        const answer = () => response.writeHead(mode.status, { 'content-type': 'text/plain' }).end('ok')
        if (mode.delayMs) setTimeout(answer, mode.delayMs).unref()
        else answer()
      })
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    if ((server.address() as AddressInfo).port !== this.port) throw new Error('the receiver lost its port')
    this.#server = server
  }

  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (!server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }

  /** The ids received while in a mode of this status (and delay), each once. */
  idsReceived(where: (mode: ReceiverMode) => boolean = () => true): Set<string> {
    return new Set(this.received.filter((request) => where(request.mode)).map((request) => request.id))
  }
}
