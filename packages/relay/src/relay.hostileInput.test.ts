import {
  closeCodes,
  decodeAwarenessUpdate,
  decodeNativeFrame,
  encodeAwarenessUpdate,
  encodeNativeFrame,
  encodeYWebsocketMessage,
  nativeSubprotocol,
  type NativeFrame,
} from '@concord/protocol'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { connect as connectTcp, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { Logger } from './logger.js'
import type { WireMode } from './wireMode.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const providers: WebsocketProvider[] = []
const clients: NativeTestClient[] = []
const sockets: WebSocket[] = []
const tcpSockets: Socket[] = []
const tempDirs: string[] = []

afterEach(async () => {
  for (const provider of providers.splice(0)) {
    provider.destroy()
    provider.doc.destroy()
  }
  for (const client of clients.splice(0)) client.close()
  for (const ws of sockets.splice(0)) ws.terminate()
  for (const socket of tcpSockets.splice(0)) socket.destroy()
  await relay?.close()
  relay = undefined
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------- well-behaved clients

const provide = (room: string): WebsocketProvider => {
  const provider = new WebsocketProvider(relay!.url, room, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  })
  providers.push(provider)
  return provider
}

const connectNative = async (): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

/** A stock y-websocket provider and a native client, synced on one document: the bystanders. */
interface GoodClients {
  readonly provider: WebsocketProvider
  readonly native: NativeTestClient
  readonly nativeDoc: Y.Doc
}

const goodClients = async (doc: string): Promise<GoodClients> => {
  const provider = provide(doc)
  const native = await connectNative()
  const { doc: nativeDoc } = native.open(doc)
  await Promise.all([waitFor(() => provider.synced, 'the provider to sync'), native.whenSynced(doc)])
  return { provider, native, nativeDoc }
}

let editCount = 0

/** A fresh edit from each good client reaches the other one. */
const expectStillSyncing = async ({ provider, nativeDoc }: GoodClients): Promise<void> => {
  const fromProvider = `provider edit ${++editCount}`
  provider.doc.getMap('m').set('provider', fromProvider)
  await waitFor(() => nativeDoc.getMap('m').get('provider') === fromProvider, `"${fromProvider}" at the native client`)
  const fromNative = `native edit ${++editCount}`
  nativeDoc.getMap('m').set('native', fromNative)
  await waitFor(() => provider.doc.getMap('m').get('native') === fromNative, `"${fromNative}" at the provider`)
}

const text = (doc: Y.Doc) => doc.getText('t').toString()

// ---------------------------------------------------------------- offenders over `ws`

interface RawClient {
  readonly ws: WebSocket
  /** Resolves with the close code the relay sent this connection. */
  closed(): Promise<number>
  /** Native mode: resolves with the first `refused` or `ack` frame the relay sent. */
  nextRefusedOrAck(): Promise<NativeFrame>
}

/** A plain `ws` client in `mode`, in document `doc`, that will send whatever it is told to. */
const connectRaw = async (mode: WireMode, doc: string): Promise<RawClient> => {
  const ws =
    mode === 'native'
      ? new WebSocket(relay!.url, [nativeSubprotocol])
      : new WebSocket(`${relay!.url}/${encodeURIComponent(doc)}`)
  sockets.push(ws)
  ws.on('error', () => {})
  let code: number | undefined
  ws.on('close', (received) => (code = received))
  const answers: NativeFrame[] = []
  ws.on('message', (data) => {
    if (mode !== 'native') return
    const frame = decodeNativeFrame(data as Buffer)
    if (frame.type === 'refused' || frame.type === 'ack') answers.push(frame)
  })
  await once(ws, 'open')
  if (mode === 'native') ws.send(encodeNativeFrame({ type: 'open', doc }))
  const closed = async () => {
    await waitFor(() => code !== undefined, 'the relay to close the connection')
    return code!
  }
  const nextRefusedOrAck = async () => {
    await waitFor(() => answers.length > 0, 'a refused or ack frame')
    return answers[0]!
  }
  return { ws, closed, nextRefusedOrAck }
}

const concat = (...parts: ArrayLike<number>[]): Uint8Array => Uint8Array.from(parts.flatMap((part) => Array.from(part)))

/** A state vector of a few bytes, so that cutting it short leaves a truncated message. */
const someStateVector = (): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'some state')
  return Y.encodeStateVector(doc)
}

const room = 'hostile'

const malformedMessages: [WireMode, string, Uint8Array][] = [
  ['y-websocket', 'garbage bytes', Uint8Array.of(0xde, 0xad, 0xbe, 0xef)],
  ['y-websocket', 'an empty frame', new Uint8Array()],
  ['y-websocket', 'an unknown message type', Uint8Array.of(7, 0)],
  [
    'y-websocket',
    'a sync step 1 cut short',
    encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: someStateVector() } }).slice(0, -2),
  ],
  ['y-websocket', 'trailing bytes after a message', concat(encodeYWebsocketMessage({ type: 'queryAwareness' }), [0])],
  [
    'y-websocket',
    'an auth message from a client',
    encodeYWebsocketMessage({ type: 'permissionDenied', reason: 'let me in' }),
  ],
  ['native', 'garbage bytes', Uint8Array.of(0xde, 0xad, 0xbe, 0xef)],
  ['native', 'an empty frame', new Uint8Array()],
  ['native', 'an unknown frame type', concat([8], encodeNativeFrame({ type: 'open', doc: room }).subarray(1))],
  [
    'native',
    'a sync step 1 cut short',
    encodeNativeFrame({
      type: 'sync',
      doc: room,
      seq: 0,
      sync: { type: 'step1', stateVector: someStateVector() },
    }).slice(0, -2),
  ],
  ['native', 'trailing bytes after a frame', concat(encodeNativeFrame({ type: 'queryAwareness', doc: room }), [0])],
]

/** A sync update whose payload is not a Yjs update. */
const poison = Uint8Array.of(1, 2, 3, 250, 250, 250)

/**
 * An update that Y.decodeUpdate reads without complaint but that every Y.Doc throws on:
 * one item of client 5 at clock 0 whose parent is item (5, 10), a later item of the same
 * client, which cannot exist before it. Bytes: 1 client · 1 struct · client 5 · clock 0 ·
 * info 4 (a string, no origins) · parent by id (0) · id (5, 10) · "x" · an empty delete set.
 */
const inapplicable = Uint8Array.of(1, 1, 5, 0, 4, 0, 5, 10, 1, 0x78, 0)

const poisonedUpdate = (mode: WireMode): Uint8Array =>
  mode === 'native'
    ? encodeNativeFrame({ type: 'sync', doc: room, seq: 1, sync: { type: 'update', update: poison } })
    : encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update: poison } })

const awarenessMessage = (mode: WireMode, update: Uint8Array): Uint8Array =>
  mode === 'native'
    ? encodeNativeFrame({ type: 'awareness', doc: room, update })
    : encodeYWebsocketMessage({ type: 'awareness', update })

// ---------------------------------------------------------------- offenders over raw TCP

/** A client frame written by hand, to send what `ws` refuses to. Payloads are short (< 126 bytes). */
const clientFrame = (
  opcode: number,
  payload: Uint8Array,
  { rsv1 = false, masked = true }: { rsv1?: boolean; masked?: boolean } = {},
): Buffer => {
  if (payload.length >= 126) throw new Error('clientFrame writes short frames only')
  const header = Buffer.from([0x80 | (rsv1 ? 0x40 : 0) | opcode, (masked ? 0x80 : 0) | payload.length])
  if (!masked) return Buffer.concat([header, payload])
  const key = randomBytes(4)
  return Buffer.concat([header, key, payload.map((byte, i) => byte ^ key[i % 4]!)])
}

/** The code in the first close frame among `bytes` (server frames, unmasked), once it has fully arrived. */
const closeCodeIn = (bytes: Buffer): number | undefined => {
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at]! & 0x0f
    let length = bytes[at + 1]! & 0x7f
    let start = at + 2
    if (length === 126) {
      if (start + 2 > bytes.length) return undefined
      length = bytes.readUInt16BE(start)
      start += 2
    } else if (length === 127) {
      if (start + 8 > bytes.length) return undefined
      length = Number(bytes.readBigUInt64BE(start))
      start += 8
    }
    if (start + length > bytes.length) return undefined
    if (opcode === 0x8) return length >= 2 ? bytes.readUInt16BE(start) : 1005
    at = start + length
  }
  return undefined
}

interface TcpPeer {
  readonly socket: Socket
  /** Everything the relay sent after the 101 response. */
  frames(): Buffer
}

/** Opens a TCP connection and completes a hand-written WebSocket upgrade to `path`. */
const upgradeOverTcp = async (path: string): Promise<TcpPeer> => {
  const socket = connectTcp(relay!.port, '127.0.0.1')
  tcpSockets.push(socket)
  socket.on('error', () => {})
  let received = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])))
  await once(socket, 'connect')
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${relay!.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  )
  await waitFor(() => received.includes('\r\n\r\n'), 'the upgrade response')
  expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
  const headerLength = received.indexOf('\r\n\r\n') + 4
  return { socket, frames: () => received.subarray(headerLength) }
}

/** A logger that keeps what the relay logs at warn level. */
const recordingLogger = () => {
  const warnings: { fields: Record<string, unknown>; message: string | undefined }[] = []
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (fields, message) => warnings.push({ fields: fields as Record<string, unknown>, message }),
    error: () => {},
  }
  return { logger, warnings }
}

// ---------------------------------------------------------------- tests

describe('hostile input harms only its sender', () => {
  it.each(malformedMessages)('%s mode: %s closes the sender with 4400', async (mode, _what, bytes) => {
    relay = await startRelay()
    const good = await goodClients(room)
    const offender = await connectRaw(mode, room)
    offender.ws.send(bytes)
    expect(await offender.closed()).toBe(closeCodes.malformedMessage)
    await expectStillSyncing(good)
  })

  it.each(['y-websocket', 'native'] as const)('%s mode: a text frame closes the sender with 1003', async (mode) => {
    relay = await startRelay()
    const good = await goodClients(room)
    const offender = await connectRaw(mode, room)
    offender.ws.send('{"type":"sync"}')
    expect(await offender.closed()).toBe(closeCodes.unsupportedData)
    await expectStillSyncing(good)
  })

  it.each(['y-websocket', 'native'] as const)(
    '%s mode: a frame above maxPayload closes the sender with 1009',
    async (mode) => {
      relay = await startRelay({ maxPayload: 64 * 1024 })
      const good = await goodClients(room)
      const offender = await connectRaw(mode, room)
      offender.ws.send(new Uint8Array(64 * 1024 + 1))
      expect(await offender.closed()).toBe(closeCodes.messageTooBig)
      await expectStillSyncing(good)
    },
  )

  const validStep1 = encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: Uint8Array.of(0) } })
  it.each([
    [
      'a frame with RSV1 set (no extension negotiated)',
      closeCodes.protocolError,
      clientFrame(0x2, validStep1, { rsv1: true }),
    ],
    ['an unmasked client frame', closeCodes.protocolError, clientFrame(0x2, validStep1, { masked: false })],
    ['a frame with a reserved opcode', closeCodes.protocolError, clientFrame(0x3, validStep1)],
    ['a text frame with invalid UTF-8', closeCodes.invalidPayload, clientFrame(0x1, Uint8Array.of(0x68, 0xc3, 0x28))],
  ])('%s over raw TCP closes the sender with %i', async (_what, code, frame) => {
    const { logger, warnings } = recordingLogger()
    relay = await startRelay({ logger })
    const good = await goodClients(room)
    const peer = await upgradeOverTcp(`/${room}`)
    peer.socket.write(frame)
    await waitFor(() => closeCodeIn(peer.frames()) !== undefined, 'the close frame')
    expect(closeCodeIn(peer.frames())).toBe(code)
    // ws reports the violation as an 'error' event; the relay logs it and carries on.
    expect(warnings.some(({ message }) => message === 'connection error')).toBe(true)
    await waitFor(() => relay!.relay.stats().connections === 2, 'the offender to be gone')
    await expectStillSyncing(good)
  })

  it.each([
    ['y-websocket', 'closes the sender with 4422'],
    ['native', 'is refused (4422) on an open connection'],
  ] as const)('%s mode: a poisoned update %s and is neither forwarded nor stored', async (mode, _outcome) => {
    const dataDir = await makeTempDir()
    tempDirs.push(dataDir)
    relay = await startRelay({ dataDir })
    const good = await goodClients(room)
    good.provider.doc.getText('t').insert(0, 'good state')
    await waitFor(() => text(good.nativeDoc) === 'good state', 'the good state at the native client')

    const offender = await connectRaw(mode, room)
    offender.ws.send(poisonedUpdate(mode))
    if (mode === 'native') {
      // The frame gets its own answer, and the document stays open: a refused frame, never an ack.
      expect(await offender.nextRefusedOrAck()).toMatchObject({
        type: 'refused',
        seq: 1,
        code: closeCodes.invalidUpdate,
      })
      expect(offender.ws.readyState).toBe(WebSocket.OPEN)
    } else {
      expect(await offender.closed()).toBe(closeCodes.invalidUpdate)
    }
    await expectStillSyncing(good)

    const forwardedPoison = good.native.received.some(
      (frame) => frame.type === 'sync' && frame.sync.type !== 'step1' && Buffer.from(frame.sync.update).equals(poison),
    )
    expect(forwardedPoison).toBe(false)
    for (const update of await relay.store.load(room)) expect(() => Y.decodeUpdate(update)).not.toThrow()

    const expected = good.nativeDoc.getMap('m').toJSON()
    await relay.close()
    relay = await startRelay({ dataDir })
    const reader = await connectNative()
    const { doc } = reader.open(room)
    await reader.whenSynced(room)
    expect(text(doc)).toBe('good state')
    expect(doc.getMap('m').toJSON()).toEqual(expected)
  })

  it('an update that decodes but that no Y.Doc can apply closes the sender with 4422 and is neither forwarded nor stored', async () => {
    relay = await startRelay()
    const writer = await connectNative()
    writer.open(room).doc.getText('t').insert(0, 'good state')
    await writer.whenAcked(room)
    writer.close()
    // While the offender is in the room, the bystander only records bytes: a forwarded update
    // would make a Y.Doc bystander throw inside its socket handler, hiding what the relay did.
    const bystander = await connectRaw('y-websocket', room)
    const forwarded: Buffer[] = []
    bystander.ws.on('message', (data) => forwarded.push(data as Buffer))

    const offender = await connectRaw('y-websocket', room)
    offender.ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update: inapplicable } }))
    expect(await offender.closed()).toBe(closeCodes.invalidUpdate)
    expect(forwarded.some((frame) => frame.includes(Buffer.from(inapplicable)))).toBe(false)
    for (const update of await relay.store.load(room)) expect(() => Y.applyUpdate(new Y.Doc(), update)).not.toThrow()

    bystander.ws.close()
    const good = await goodClients(room)
    expect(text(good.nativeDoc)).toBe('good state')
    await expectStillSyncing(good)
  })

  it.each([
    [
      'y-websocket',
      'a state that is not JSON',
      encodeAwarenessUpdate([{ clientId: 4242, clock: 1, state: '{not json' }]),
    ],
    ['native', 'a state that is not JSON', encodeAwarenessUpdate([{ clientId: 4242, clock: 1, state: '{not json' }])],
    ['y-websocket', 'an update that does not decode', Uint8Array.of(1, 0x92, 0x21)],
    ['native', 'an update that does not decode', Uint8Array.of(1, 0x92, 0x21)],
  ] as const)(
    '%s mode: awareness with %s closes the sender with 4422 and reaches nobody',
    async (mode, _what, update) => {
      relay = await startRelay()
      const good = await goodClients(room)
      const offender = await connectRaw(mode, room)
      offender.ws.send(awarenessMessage(mode, update))
      expect(await offender.closed()).toBe(closeCodes.invalidUpdate)

      // Presence sent after the offender's reaches both good clients: a forwarded bad entry would have come first.
      good.provider.awareness.setLocalStateField('user', { name: 'provider' })
      const providerId = good.provider.doc.clientID
      const awarenessAtNative = () =>
        good.native.received.flatMap((frame) => (frame.type === 'awareness' ? decodeAwarenessUpdate(frame.update) : []))
      await waitFor(() => awarenessAtNative().some(({ clientId }) => clientId === providerId), 'presence at the native')
      good.native.send({
        type: 'awareness',
        doc: room,
        update: encodeAwarenessUpdate([{ clientId: 777, clock: 1, state: '{"user":{"name":"native"}}' }]),
      })
      await waitFor(() => good.provider.awareness.getStates().has(777), 'presence at the provider')

      expect(awarenessAtNative().some(({ clientId }) => clientId === 4242)).toBe(false)
      expect(good.provider.awareness.getStates().has(4242)).toBe(false)
      await expectStillSyncing(good)
    },
  )
})

describe('native frames in a bad order', () => {
  it('closes a connection whose sync sequence numbers do not increase with 4400, without forwarding the frame', async () => {
    relay = await startRelay()
    const good = await goodClients(room)
    const offender = await connectNative()
    const entry = offender.open(room)
    await offender.whenSynced(room)
    const replay = new Y.Doc()
    replay.getText('t').insert(0, 'replayed')
    offender.send({
      type: 'sync',
      doc: room,
      seq: entry.sentSeq,
      sync: { type: 'update', update: Y.encodeStateAsUpdate(replay) },
    })
    expect((await offender.whenClosed()).code).toBe(closeCodes.malformedMessage)
    await expectStillSyncing(good)
    expect(text(good.nativeDoc)).toBe('')
    expect(text(good.provider.doc)).toBe('')
  })

  it('closes a connection that sends an ack with 4400', async () => {
    relay = await startRelay()
    const good = await goodClients(room)
    const offender = await connectNative()
    offender.open(room)
    await offender.whenSynced(room)
    offender.send({ type: 'ack', doc: room, seq: 1 })
    expect((await offender.whenClosed()).code).toBe(closeCodes.malformedMessage)
    await expectStillSyncing(good)
  })

  it.each([
    ['empty', ''],
    ['257 characters long', 'a'.repeat(257)],
    ['with a control character', 'a\u0000b'],
  ])('answers open with a name that is %s by an error frame (4410) and keeps the connection', async (_what, name) => {
    relay = await startRelay()
    const good = await goodClients(room)
    const client = await connectNative()
    const refused = client.open(name)
    await waitFor(() => refused.error !== undefined, 'the error frame')
    expect(refused.error?.code).toBe(closeCodes.invalidDocumentName)
    expect(refused.synced).toBe(false)

    // The same socket still serves another document.
    const { doc } = client.open(room)
    await client.whenSynced(room)
    doc.getText('t').insert(0, 'same socket, other document')
    await waitFor(() => text(good.provider.doc) === 'same socket, other document', 'the edit at the provider')
    expect(client.closeEvent).toBeUndefined()
    await expectStillSyncing(good)
  })
})

describe('resource abuse', () => {
  it('drops a client that stops reading and keeps serving the writer and the others', async () => {
    const { logger, warnings } = recordingLogger()
    relay = await startRelay({ logger, maxBufferedBytes: 256 * 1024 })
    const good = await goodClients('firehose')
    const slow = await upgradeOverTcp('/firehose')
    slow.socket.pause()
    await waitFor(() => relay!.relay.stats().connections === 3, 'the slow reader to join')

    const chunk = 'x'.repeat(64 * 1024)
    const chunks = good.provider.doc.getArray<string>('chunks')
    const seen = good.nativeDoc.getArray<string>('chunks')
    const slowReaderClosed = () => warnings.some(({ fields }) => fields.codeName === 'slowReader')
    // 64 KiB at a time, each seen by the native client before the next, until the relay gives up on the slow
    // reader (it logs that at once, then waits up to 5 s for a closing handshake the reader will never read).
    while (!slowReaderClosed() && chunks.length < 96) {
      chunks.push([chunk])
      await waitFor(() => seen.length === chunks.length, `chunk ${chunks.length} at the native client`)
    }
    expect(slowReaderClosed()).toBe(true)
    await waitFor(() => relay!.relay.stats().connections === 2, 'the slow reader to be dropped')
    await expectStillSyncing(good)
  })

  it('stays up and keeps syncing after ~200 random frames from fresh connections (seeded)', async () => {
    relay = await startRelay()
    const good = await goodClients(room)
    let tried = 0
    const outcomes = new Map<string, number>()
    // A sync step 1 always gets a step 2 back: once it does, every frame before it was handled.
    const probe = encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: Uint8Array.of(0) } })
    const isStep2 = (data: Buffer) => data[0] === 0 && data[1] === 1

    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Valid message types and sync types, so that most frames get past the first byte.
      fc
        .tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 64 }))
        .map(([type, rest]) => concat([type], rest)),
      fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 64 }))
        .map(([syncType, payload]) => concat([0, syncType, payload.length], payload)),
    )
    await fc.assert(
      fc.asyncProperty(frames, async (bytes) => {
        tried++
        const ws = new WebSocket(`${relay!.url}/${room}`)
        sockets.push(ws)
        ws.on('error', () => {})
        let closeCode: number | undefined
        let answered = false
        ws.on('close', (code) => (closeCode = code))
        ws.on('message', (data) => (answered ||= isStep2(data as Buffer)))
        await once(ws, 'open')
        ws.send(bytes)
        ws.send(probe)
        await waitFor(() => closeCode !== undefined || answered, 'the relay to close or answer')
        const outcome = closeCode === undefined ? 'accepted' : String(closeCode)
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
        ws.terminate()
        return (
          outcome === 'accepted' || closeCode === closeCodes.malformedMessage || closeCode === closeCodes.invalidUpdate
        )
      }),
      { seed: 20240611, numRuns: 200 },
    )
    console.log(`tried ${tried} random frames; outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`)
    expect(tried).toBe(200)
    await waitFor(() => relay!.relay.stats().connections === 2, 'the random connections to be gone')
    await expectStillSyncing(good)
  })
})
