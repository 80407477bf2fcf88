/**
 * Owns "another writer": someone who may write a document and sends it
 * valid Yjs that the demo did not expect (embeds in the text, values of the
 * wrong type, hostile presence). The updates are made with Yjs here in Node
 * and sent over a y-websocket connection that a page of its own opens to
 * the relay, as a stock y-websocket client would send them.
 */
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'

const messageSync = 0
const syncUpdate = 2
const messageAwareness = 1

const varUint = (value: number): number[] => {
  const bytes: number[] = []
  while (value > 0x7f) {
    bytes.push((value & 0x7f) | 0x80)
    value = Math.floor(value / 128)
  }
  bytes.push(value)
  return bytes
}

/** A y-websocket frame: message type, then the payload as a length-prefixed byte array (sync: its type first). */
const frame = (prefix: number[], payload: Uint8Array): number[] => [...prefix, ...varUint(payload.length), ...payload]

export class HostileWriter {
  /** The writer's own replica of the document, to make updates with. */
  readonly doc = new Y.Doc()
  readonly awareness = new Awareness(this.doc)
  readonly #context: BrowserContext
  readonly #page: Page
  /** Frames made by `write`, waiting to be sent. */
  readonly #pending: number[][] = []

  private constructor(context: BrowserContext, page: Page) {
    this.#context = context
    this.#page = page
    this.doc.on('update', (update: Uint8Array) => {
      this.#pending.push(frame([messageSync, syncUpdate], update))
    })
  }

  /** Opens a y-websocket connection to `docName` on the relay at `relayUrl` (http://host:port). */
  static async connect(browser: Browser, relayUrl: string, docName: string): Promise<HostileWriter> {
    const context = await browser.newContext()
    const page = await context.newPage()
    // Any page of the relay's origin: /healthz is plain text, so nothing of the demo runs there.
    await page.goto(`${relayUrl}/healthz`)
    await page.evaluate(
      async (url) => {
        const ws = new WebSocket(url)
        ws.binaryType = 'arraybuffer'
        ;(window as unknown as { hostile: WebSocket }).hostile = ws
        await new Promise((resolve, reject) => {
          ws.onopen = resolve
          ws.onerror = () => reject(new Error('the writer could not connect'))
        })
      },
      `${relayUrl.replace(/^http/, 'ws')}/${encodeURIComponent(docName)}`,
    )
    return new HostileWriter(context, page)
  }

  /** Changes the writer's replica with `change` and sends the resulting update. */
  async write(change: (doc: Y.Doc) => void): Promise<void> {
    this.doc.transact(() => change(this.doc))
    await this.#send(this.#pending.splice(0))
  }

  /** Sends `update` as it is: one made elsewhere, for instance by a Y.Doc that reads the document's types differently. */
  async sendUpdate(update: Uint8Array): Promise<void> {
    await this.#send([frame([messageSync, syncUpdate], update)])
  }

  /** Sets the writer's presence to `state` (any JSON) and sends it. */
  async present(state: Record<string, unknown>): Promise<void> {
    this.awareness.setLocalState(state)
    await this.#send([frame([messageAwareness], encodeAwarenessUpdate(this.awareness, [this.doc.clientID]))])
  }

  async #send(frames: number[][]): Promise<void> {
    await this.#page.evaluate((all) => {
      const ws = (window as unknown as { hostile: WebSocket }).hostile
      if (ws.readyState !== WebSocket.OPEN) throw new Error('the writer was disconnected')
      for (const bytes of all) ws.send(new Uint8Array(bytes))
    }, frames)
  }

  async close(): Promise<void> {
    this.awareness.destroy()
    await this.#context.close()
  }
}
