/**
 * Owns the hostile writer of `--hostile`: one actor per run, holding a write
 * token like any honest replica, that speaks concord.v2 by hand and sends
 * what no honest client would: content under another client's next clocks
 * (clock squatting), two contradicting updates for one clock range (to two
 * relays at once in cluster mode), a zero-length item that honest edits
 * then build on, garbage frames, and floods of `auth` frames over many open
 * documents. Every action is drawn from the seed; honest replicas must be
 * unaffected by all of them, which the harness's checks decide.
 */
import { decodeNativeFrame, encodeNativeFrame, nativeSubprotocol, type NativeFrame } from '@concord/protocol'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import * as prng from 'lib0/prng'
import { between, createRandom } from './workload.js'

export const hostileActions = [
  'squat',
  'contradict',
  'zeroLength',
  'garbage',
  'authFlood',
  'observerTrap',
  'queueFlood',
] as const

/**
 * What `--hostile` draws from. `queueFlood` needs loads that hang, so it joins only with
 * `--storage` (and keeps the draws of seeds without it as they were).
 */
export const defaultHostileActions = (storage: boolean): readonly HostileAction[] =>
  storage ? hostileActions : hostileActions.filter((action) => action !== 'queueFlood')

/**
 * The map key an honest replica's app observer throws on (`observerTrap`): valid content that an
 * app's own code chokes on, as a value of an unexpected shape does. The client must carry on.
 */
export const observerTrapKey = 'trap'
export type HostileAction = (typeof hostileActions)[number]

const fromRelay = Symbol('from the relay')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One raw concord.v2 socket, with a mirror of one document as the relay sent it. */
export class HostileSocket {
  readonly mirror = new Y.Doc()
  #synced = false
  #seq = 0
  readonly #ws: WebSocket
  readonly #opened: Promise<boolean>

  constructor(
    url: string,
    readonly doc: string,
    token: string | undefined,
  ) {
    this.#ws = new WebSocket(url, [nativeSubprotocol])
    this.#ws.on('error', () => {})
    this.#opened = new Promise((resolve) => {
      this.#ws.once('open', () => resolve(true))
      this.#ws.once('close', () => resolve(false))
    })
    this.#ws.on('message', (data: Buffer) => {
      let frame: NativeFrame
      try {
        frame = decodeNativeFrame(data)
      } catch {
        return
      }
      if (frame.type !== 'sync' || frame.doc !== doc) return
      if (frame.sync.type === 'step1') return
      Y.applyUpdate(this.mirror, frame.sync.update, fromRelay)
      if (frame.sync.type === 'step2') this.#synced = true
    })
    void this.#opened.then((open) => {
      if (!open) return
      if (token !== undefined) this.send({ type: 'auth', doc: '', token })
      this.send({ type: 'open', doc })
      this.send({ type: 'sync', doc, seq: 0, sync: { type: 'step1', stateVector: new Uint8Array([0]) } })
    })
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN
  }

  /** Resolves true once the socket is open. */
  whenOpen(): Promise<boolean> {
    return this.#opened
  }

  /** Resolves true once the relay's state arrived, false if it did not within `timeoutMs`. */
  async whenSynced(timeoutMs = 3_000): Promise<boolean> {
    if (!(await this.#opened)) return false
    const deadline = Date.now() + timeoutMs
    while (!this.#synced && this.open && Date.now() < deadline) await sleep(20)
    return this.#synced
  }

  send(frame: NativeFrame): void {
    if (this.open) this.#ws.send(encodeNativeFrame(frame))
  }

  sendRaw(bytes: Uint8Array): void {
    if (this.open) this.#ws.send(bytes)
  }

  sendUpdate(update: Uint8Array): void {
    this.send({ type: 'sync', doc: this.doc, seq: ++this.#seq, sync: { type: 'update', update } })
  }

  close(): void {
    this.#ws.terminate()
  }
}

/** An update that holds one zero-length item in the `elements` array, after its last element. */
export const zeroLengthItemAfterLast = (mirror: Y.Doc, client: number): Uint8Array | undefined => {
  let item = mirror.getArray('elements')._start
  while (item?.right) item = item.right
  if (!item) return undefined
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // clients
  encoding.writeVarUint(encoder, 1) // structs of that client
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, 0) // clock
  encoding.writeUint8(encoder, 8 | 0x80) // ContentAny, with a left origin
  encoding.writeVarUint(encoder, item.lastId.client)
  encoding.writeVarUint(encoder, item.lastId.clock)
  encoding.writeVarUint(encoder, 0) // no values: the item takes no clock
  encoding.writeVarUint(encoder, 0) // empty delete set
  return encoding.toUint8Array(encoder)
}

/** An update that inserts `text` at the start of the text, made as `client` from its next clock in `base`. */
export const insertAs = (base: Y.Doc, client: number, text: string): Uint8Array => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(base))
  doc.clientID = client
  const before = Y.encodeStateVector(doc)
  doc.getText('text').insert(0, text)
  const update = Y.encodeStateAsUpdate(doc, before)
  doc.destroy()
  return update
}

/** How many more documents an auth-frame flood of `seed` opens, and how many auth frames it sends over them. */
export const authFloodSize = (seed: number): { documents: number; frames: number } => {
  const random = createRandom(seed)
  const documents = between(random, 100, 200)
  return { documents, frames: between(random, 200, 400) }
}

export interface HostileWriterOptions {
  /** The relays' addresses, for one socket each (one in single-relay mode). */
  readonly urls: () => readonly string[]
  readonly doc: string
  readonly token: string | undefined
}

export class HostileWriter {
  readonly #options: HostileWriterOptions

  constructor(options: HostileWriterOptions) {
    this.#options = options
  }

  #connect(url: string): HostileSocket {
    return new HostileSocket(url, this.#options.doc, this.#options.token)
  }

  async #withSockets<T>(count: number, use: (sockets: HostileSocket[]) => Promise<T>): Promise<T | string> {
    const urls = this.#options.urls()
    if (urls.length === 0) return 'skipped: no relay running'
    const sockets = Array.from({ length: count }, (_, i) => this.#connect(urls[i % urls.length]!))
    try {
      const synced = await Promise.all(sockets.map((socket) => socket.whenSynced()))
      if (!synced.every(Boolean)) return 'skipped: no relay answered'
      return await use(sockets)
    } finally {
      // Let the last frames leave before the sockets go.
      await sleep(200)
      for (const socket of sockets) socket.close()
    }
  }

  /** Runs one action; resolves with a line for the operation log. */
  async run(action: HostileAction, seed: number, victimClientId: number | undefined): Promise<string> {
    const random = createRandom(seed)
    switch (action) {
      case 'squat':
        return this.#withSockets(1, async ([socket]) => {
          if (victimClientId === undefined) return 'squat skipped: no victim'
          // Long enough to cover the victim's next dozens of writes.
          const update = insertAs(socket!.mirror, victimClientId, prng.word(random, 150, 300))
          socket!.sendUpdate(update)
          const clock = Y.getState(socket!.mirror.store, victimClientId)
          return `squat on client ${victimClientId} from clock ${clock}`
        })
      case 'contradict':
        return this.#withSockets(2, async ([first, second]) => {
          const client = between(random, 1, 0x7fffffff)
          const a = insertAs(first!.mirror, client, `A${prng.word(random, 5, 10)}`)
          const b = insertAs(second!.mirror, client, `B${prng.word(random, 5, 10)}`)
          first!.sendUpdate(a)
          second!.sendUpdate(b)
          return `contradicting updates of client ${client} clock 0 (${a.length} and ${b.length} bytes)`
        })
      case 'zeroLength':
        return this.#withSockets(1, async ([socket]) => {
          const client = between(random, 1, 0x7fffffff)
          const update = zeroLengthItemAfterLast(socket!.mirror, client)
          if (!update) return 'zero-length item skipped: no elements yet'
          socket!.sendUpdate(update)
          return `zero-length item of client ${client} after the last element`
        })
      case 'garbage':
        return this.#withSockets(1, async ([socket]) => {
          const kinds = ['bytes', 'update', 'frame'] as const
          const kind = kinds[between(random, 0, kinds.length - 1)]!
          const junk = prng.uint8Array(random, between(random, 1, 200))
          if (kind === 'bytes') socket!.sendRaw(junk)
          else if (kind === 'update') socket!.sendUpdate(junk)
          else socket!.sendRaw(Uint8Array.of(between(random, 0, 11), ...junk))
          return `garbage (${kind}, ${junk.length} bytes)`
        })
      case 'observerTrap':
        return this.#withSockets(1, async ([socket]) => {
          const doc = new Y.Doc()
          Y.applyUpdate(doc, Y.encodeStateAsUpdate(socket!.mirror))
          const before = Y.encodeStateVector(doc)
          doc.getMap('map').set(observerTrapKey, between(random, 0, 1_000_000))
          socket!.sendUpdate(Y.encodeStateAsUpdate(doc, before))
          doc.destroy()
          return `set map.${observerTrapKey}, which the honest apps' observers throw on`
        })
      case 'queueFlood': {
        // Large frames for documents nobody has loaded, while their loads hang; then the peer leaves.
        const urls = this.#options.urls()
        if (urls.length === 0) return 'skipped: no relay running'
        const frames = between(random, 150, 250)
        for (let round = 0; round < 3; round++) {
          const socket = new HostileSocket(
            urls[0]!,
            `${this.#options.doc}-queued-${seed}-${round}`,
            this.#options.token,
          )
          if (!(await socket.whenOpen())) return 'skipped: no relay answered'
          const base = new Y.Doc()
          for (let i = 0; i < frames; i++)
            socket.sendUpdate(insertAs(base, between(random, 1, 0x7fffffff), 'q'.repeat(64 * 1024)))
          base.destroy()
          await sleep(300)
          socket.close()
        }
        return `queued 3 x ${frames} frames of 64 KiB for documents whose loads hang, and left`
      }
      case 'authFlood':
        return this.#withSockets(1, async ([socket]) => {
          const { token } = this.#options
          const { documents, frames } = authFloodSize(seed)
          for (let i = 0; i < documents; i++) socket!.send({ type: 'open', doc: `${this.#options.doc}-flood-${i}` })
          for (let i = 0; i < frames; i++) {
            socket!.send({ type: 'auth', doc: '', token: token ?? 'not-a-token' })
            if (i % 20 === 19) await sleep(100)
          }
          return `auth flood: ${frames} auth frames over ${documents + 1} open documents`
        })
    }
  }
}
