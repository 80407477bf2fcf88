/**
 * Owns "another writer": someone who may write a document and sends it
 * valid Yjs that the demo did not expect (embeds in the text, values of the
 * wrong type, hostile presence). The updates are made with Yjs here in Node
 * and sent over a y-websocket connection that a page of its own opens to
 * the relay, as a stock y-websocket client would send them. It also reads
 * what the relay tells every reader: who is present (with their client ids)
 * and the document's state, as a clock squatter does (clockSquat.ts).
 */
import type { Browser, BrowserContext, Page } from '@playwright/test'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'

const messageSync = 0
const syncStep1 = 0
const syncStep2 = 1
const syncUpdate = 2
const messageAwareness = 1

/** Reads a varUint at `at`; returns it and where the next field starts. */
const readVarUint = (bytes: Uint8Array, at: number): [number, number] => {
  let value = 0
  let factor = 1
  for (;;) {
    const byte = bytes[at++]!
    value += (byte & 0x7f) * factor
    if (byte < 0x80) return [value, at]
    factor *= 128
  }
}

/** The length-prefixed payload of a frame, which starts at `at`. */
const payloadAt = (bytes: Uint8Array, at: number): Uint8Array => {
  const [length, start] = readVarUint(bytes, at)
  return bytes.subarray(start, start + length)
}

/** What the relay sent this writer so far, frame by frame (kept by the page). */
type Received = { hostileReceived: number[][] }

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
        const received: number[][] = []
        ;(window as unknown as Received).hostileReceived = received
        ws.onmessage = (event: MessageEvent<ArrayBuffer>) => received.push([...new Uint8Array(event.data)])
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

  /**
   * Who is present, by client id, as the relay told this writer (its
   * greeting and every change since). Waits for the relay's first presence
   * frame, within `timeout` ms.
   */
  async presentStates(timeout = 10_000): Promise<Map<number, Record<string, unknown>>> {
    await this.#page.waitForFunction(
      (type) => (window as unknown as Received).hostileReceived.some((bytes) => bytes[0] === type),
      messageAwareness,
      { timeout },
    )
    const seen = new Awareness(new Y.Doc())
    for (const bytes of await this.#received()) {
      if (bytes[0] === messageAwareness) applyAwarenessUpdate(seen, payloadAt(bytes, 1), 'relay')
    }
    const states = new Map(seen.getStates())
    states.delete(seen.clientID)
    seen.destroy()
    return states as Map<number, Record<string, unknown>>
  }

  /**
   * The document as the relay holds it now, in a new Y.Doc: asks for it as a
   * y-websocket client does (sync step 1, empty state vector) and waits for
   * the answer (sync step 2), within `timeout` ms.
   */
  async readDocument(timeout = 10_000): Promise<Y.Doc> {
    const isAnswer = (bytes: readonly number[]): boolean => bytes[0] === messageSync && bytes[1] === syncStep2
    const answersBefore = (await this.#received()).filter((bytes) => isAnswer([...bytes])).length
    await this.#send([frame([messageSync, syncStep1], Y.encodeStateVector(new Y.Doc()))])
    await this.#page.waitForFunction(
      ({ before, type, step }) =>
        (window as unknown as Received).hostileReceived.filter((bytes) => bytes[0] === type && bytes[1] === step)
          .length > before,
      { before: answersBefore, type: messageSync, step: syncStep2 },
      { timeout },
    )
    const answer = (await this.#received()).filter((bytes) => isAnswer([...bytes]))[answersBefore]!
    const doc = new Y.Doc()
    Y.applyUpdate(doc, payloadAt(answer, 2))
    return doc
  }

  /** Resolves once the relay sent this writer another frame, within `timeout` ms. */
  async nextFrame(timeout = 10_000): Promise<void> {
    const count = (await this.#received()).length
    await this.#page.waitForFunction(
      (before) => (window as unknown as Received).hostileReceived.length > before,
      count,
      { timeout },
    )
  }

  async #received(): Promise<Uint8Array[]> {
    const all = await this.#page.evaluate(() => (window as unknown as Received).hostileReceived)
    return all.map((bytes) => new Uint8Array(bytes))
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
