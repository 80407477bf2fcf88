import { closeCodes } from '@concord/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket as NodeWebSocket } from 'ws'
import * as Y from 'yjs'
import { startRelay, waitFor, type TestRelay } from '@concord/relay/testing'
import {
  heartbeatTimeoutCloseCode,
  RelayConnection,
  type RelayConnectionEvents,
  type RelayConnectionOptions,
} from './relayConnection.js'
import { fakeWebSockets } from './test/fakeWebSocket.js'

let relay: TestRelay | undefined
const connections: RelayConnection[] = []

const track = (options: RelayConnectionOptions) => {
  const connection = new RelayConnection(options)
  connections.push(connection)
  return connection
}

/** Everything `connection` emits as `event`, in order. */
const record = <E extends keyof RelayConnectionEvents>(connection: RelayConnection, event: E) => {
  type Value = Parameters<RelayConnectionEvents[E]>[0]
  const seen: Value[] = []
  connection.on(event, ((value: Value) => void seen.push(value)) as RelayConnectionEvents[E])
  return seen
}

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.destroy()
  await relay?.close()
  relay = undefined
  vi.useRealTimers()
})

describe('RelayConnection against a real relay', () => {
  it('opens in concord.v2 and exchanges frames for a document', async () => {
    relay = await startRelay()
    const writer = track({ url: relay.url, WebSocket: NodeWebSocket })
    const statuses = record(writer, 'status')
    const writerFrames = record(writer, 'frame')
    const source = new Y.Doc()
    source.getText('t').insert(0, 'hello')
    writer.on('status', (status) => {
      if (status !== 'open') return
      writer.send({ type: 'open', doc: 'notes' })
      writer.send({
        type: 'sync',
        doc: 'notes',
        seq: 1,
        sync: { type: 'update', update: Y.encodeStateAsUpdate(source) },
      })
    })
    writer.connect()
    await waitFor(() => writerFrames.some((frame) => frame.type === 'ack' && frame.seq === 1), 'the ack of seq 1')
    expect(statuses).toEqual(['connecting', 'open'])
    expect(writerFrames[0]).toMatchObject({ type: 'sync', doc: 'notes', sync: { type: 'step1' } })

    const reader = track({ url: relay.url, WebSocket: NodeWebSocket })
    const readerFrames = record(reader, 'frame')
    reader.on('status', (status) => {
      if (status !== 'open') return
      reader.send({ type: 'open', doc: 'notes' })
      reader.send({ type: 'sync', doc: 'notes', seq: 1, sync: { type: 'step1', stateVector: new Uint8Array([0]) } })
    })
    reader.connect()
    await waitFor(() => readerFrames.some((frame) => frame.type === 'sync' && frame.sync.type === 'step2'), 'step 2')
    const copy = new Y.Doc()
    for (const frame of readerFrames) {
      if (frame.type === 'sync' && frame.sync.type !== 'step1') Y.applyUpdate(copy, frame.sync.update)
    }
    expect(copy.getText('t').toString()).toBe('hello')
  })

  it('keeps an idle connection open with pings the relay answers', async () => {
    relay = await startRelay()
    // Counts what the relay sends: on an idle connection, the pongs to the client's pings.
    let received = 0
    class CountingWebSocket extends NodeWebSocket {
      constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
        super(...args)
        this.on('message', () => received++)
      }
    }
    // A pong may be as late as 450 ms (a loaded machine stalls this process too), and is not.
    const connection = track({
      url: relay.url,
      WebSocket: CountingWebSocket,
      heartbeatIntervalMs: 50,
      heartbeatTimeoutMs: 500,
    })
    const closes = record(connection, 'close')
    connection.connect()
    await waitFor(() => connection.status === 'open', 'open')
    // Thirty pongs, each after an interval of silence: more than three timeouts without a frame but pongs.
    await waitFor(() => received >= 30, 'thirty pongs')
    expect(connection.status).toBe('open')
    expect(closes).toEqual([])
  })

  it('reconnects by itself when the relay comes back on the same port', async () => {
    relay = await startRelay()
    const { port } = relay
    const connection = track({
      url: relay.url,
      WebSocket: NodeWebSocket,
      backoff: { initialDelayMs: 20, maxDelayMs: 50 },
    })
    const statuses = record(connection, 'status')
    const closes = record(connection, 'close')
    connection.connect()
    await waitFor(() => connection.status === 'open', 'open')

    await relay.close()
    relay = undefined
    await waitFor(() => closes.length >= 3, 'two failed attempts while the relay is down')
    expect(closes[0]).toEqual({ code: closeCodes.goingAway, reason: 'the relay is shutting down' })
    expect(connection.status).not.toBe('open')

    relay = await startRelay({ port })
    await waitFor(() => connection.status === 'open', 'open again')
    expect(statuses.slice(0, 4)).toEqual(['connecting', 'open', 'offline', 'connecting'])
  })
})

describe('RelayConnection with a fake WebSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })

  it('needs a WebSocket on Node 20, and says where to get one', () => {
    expect(() => new RelayConnection({ url: 'ws://relay.test' })).toThrow(
      expect.objectContaining({ code: 'noWebSocket', message: expect.stringContaining('`ws`') }),
    )
  })

  it('asks for concord.v2 in binary, and sends only while open, without throwing', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket })
    expect(connection.send({ type: 'open', doc: 'a' })).toBe(false)
    connection.connect()
    connection.connect()
    expect(fake.sockets).toHaveLength(1)
    const socket = fake.latest()
    expect([socket.url, socket.protocols, socket.binaryType]).toEqual([
      'ws://relay.test',
      ['concord.v3', 'concord.v2'],
      'arraybuffer',
    ])
    expect(connection.send({ type: 'open', doc: 'a' })).toBe(false)
    socket.open()
    expect(connection.send({ type: 'open', doc: 'a' })).toBe(true)
    expect(socket.sent).toEqual([{ type: 'open', doc: 'a' }])
  })

  it('waits longer after each failed attempt, up to 30 s, and starts over after a connection that lasted', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, backoff: { random: () => 1 } })
    const statuses = record(connection, 'status')
    const waitsBeforeAttempt = () => {
      const made = fake.sockets.length
      fake.latest().fail()
      let waited = 0
      while (fake.sockets.length === made) {
        vi.advanceTimersByTime(1)
        waited += 1
      }
      return waited
    }
    connection.connect()
    expect(Array.from({ length: 8 }, waitsBeforeAttempt)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000])
    expect(statuses.slice(0, 4)).toEqual(['connecting', 'offline', 'connecting', 'offline'])

    // Open for less than the heartbeat interval: not a connection that worked.
    fake.latest().open()
    vi.advanceTimersByTime(9_999)
    expect(waitsBeforeAttempt()).toBe(30000)

    fake.latest().open()
    vi.advanceTimersByTime(10_000)
    fake.latest().serverClose(closeCodes.goingAway)
    vi.advanceTimersByTime(499)
    const made = fake.sockets.length
    vi.advanceTimersByTime(1)
    expect(fake.sockets).toHaveLength(made + 1)
    expect(waitsBeforeAttempt()).toBe(1000)
  })

  it('pings every interval of silence, and drops a socket that answers nothing within the timeout', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, backoff: { random: () => 1 } })
    const closes = record(connection, 'close')
    connection.connect()
    const dead = fake.latest()
    dead.open()

    vi.advanceTimersByTime(9_999)
    expect(dead.sent).toEqual([])
    vi.advanceTimersByTime(1)
    expect(dead.sent).toEqual([{ type: 'ping', doc: '', id: 1 }])
    vi.advanceTimersByTime(10_000)
    expect(dead.sent).toEqual([
      { type: 'ping', doc: '', id: 1 },
      { type: 'ping', doc: '', id: 2 },
    ])
    vi.advanceTimersByTime(9_999)
    expect(connection.status).toBe('open')

    vi.advanceTimersByTime(1)
    expect(connection.status).toBe('offline')
    expect(closes).toEqual([{ code: heartbeatTimeoutCloseCode, reason: 'heartbeat timeout' }])
    expect(dead.closeCalls).toEqual([{ code: heartbeatTimeoutCloseCode, reason: 'heartbeat timeout' }])
    expect(dead.listenerCount('close') + dead.listenerCount('message') + dead.listenerCount('open')).toBe(0)

    // The close handshake finishing much later changes nothing.
    dead.serverClose(1006)
    expect(closes).toHaveLength(1)
    vi.advanceTimersByTime(500)
    expect(fake.sockets).toHaveLength(2)
    expect(connection.status).toBe('connecting')
  })

  it('counts any frame, pongs included, as life', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket })
    const frames = record(connection, 'frame')
    connection.connect()
    const socket = fake.latest()
    socket.open()
    let answered = 0
    for (let second = 0; second < 300; second += 1) {
      vi.advanceTimersByTime(1_000)
      const ping = socket.sent.at(-1)
      if (ping?.type === 'ping' && ping.id > answered) {
        answered = ping.id
        socket.receive({ type: 'pong', doc: '', id: ping.id })
      }
      if (second === 150) socket.receive({ type: 'notice', doc: '', code: closeCodes.goingAway, message: 'soon' })
    }
    expect(connection.status).toBe('open')
    expect(socket.sent.filter((frame) => frame.type === 'ping').length).toBeGreaterThan(20)
    expect(frames).toEqual([{ type: 'notice', doc: '', code: closeCodes.goingAway, message: 'soon' }])
  })

  it('answers a ping from the relay with a pong', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket })
    connection.connect()
    fake.latest().open()
    fake.latest().receive({ type: 'ping', doc: '', id: 7 })
    expect(fake.latest().sent).toEqual([{ type: 'pong', doc: '', id: 7 }])
  })

  it('closes with malformedMessage on a frame that does not decode, and reconnects', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, backoff: { random: () => 1 } })
    const errors = record(connection, 'error')
    connection.connect()
    const socket = fake.latest()
    socket.open()
    socket.receive(new Uint8Array([42]))
    expect(errors).toEqual([expect.objectContaining({ name: 'ConnectionError', code: 'malformedMessage' })])
    expect(socket.closeCalls).toEqual([{ code: closeCodes.malformedMessage, reason: 'undecodable frame' }])
    vi.advanceTimersByTime(500)
    fake.latest().open()
    fake.latest().receive('a text frame')
    expect(errors.map((error) => error.code)).toEqual(['malformedMessage', 'malformedMessage'])
    expect(fake.sockets).toHaveLength(2)
    expect(fake.latest().closeCalls[0]?.code).toBe(closeCodes.malformedMessage)
  })

  it('treats a server that did not select concord.v2 as a failed attempt', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, backoff: { random: () => 1 } })
    const statuses = record(connection, 'status')
    const errors = record(connection, 'error')
    connection.connect()
    fake.latest().open('')
    expect(errors).toEqual([expect.objectContaining({ code: 'unsupportedProtocol' })])
    expect(fake.latest().closeCalls).toHaveLength(1)
    expect(statuses).toEqual(['connecting', 'offline'])
    vi.advanceTimersByTime(500)
    expect(fake.sockets).toHaveLength(2)
  })

  describe('online and offline', () => {
    const environment = () => Object.assign(new EventTarget(), { navigator: { onLine: true } })

    it('closes and stops retrying while offline, and reconnects at once, with a fresh backoff, when online', () => {
      const fake = fakeWebSockets()
      const env = environment()
      const connection = track({
        url: 'ws://relay.test',
        WebSocket: fake.WebSocket,
        environment: env,
        backoff: { random: () => 1 },
      })
      connection.connect()
      for (let attempt = 0; attempt < 5; attempt += 1) {
        fake.latest().fail()
        vi.runOnlyPendingTimers()
      }
      fake.latest().open()
      const socket = fake.latest()

      env.navigator.onLine = false
      env.dispatchEvent(new Event('offline'))
      expect(connection.status).toBe('offline')
      expect(socket.closeCalls).toEqual([{ code: closeCodes.normal, reason: 'the device went offline' }])
      expect(vi.getTimerCount()).toBe(0)
      const made = fake.sockets.length
      vi.advanceTimersByTime(120_000)
      expect(fake.sockets).toHaveLength(made)

      env.navigator.onLine = true
      env.dispatchEvent(new Event('online'))
      expect(fake.sockets).toHaveLength(made + 1)
      expect(connection.status).toBe('connecting')
      fake.latest().fail()
      vi.advanceTimersByTime(500)
      expect(fake.sockets).toHaveLength(made + 2)
    })

    it('waits for online when navigator.onLine is false at connect()', () => {
      const fake = fakeWebSockets()
      const env = environment()
      env.navigator.onLine = false
      const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, environment: env })
      connection.connect()
      vi.advanceTimersByTime(60_000)
      expect(fake.sockets).toHaveLength(0)
      expect(connection.status).toBe('offline')
      env.navigator.onLine = true
      env.dispatchEvent(new Event('online'))
      expect(fake.sockets).toHaveLength(1)
    })
  })

  it('disconnect() closes with 1000 and stops retrying until connect()', () => {
    const fake = fakeWebSockets()
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket })
    const closes = record(connection, 'close')
    connection.connect()
    fake.latest().open()
    connection.disconnect()
    expect(connection.status).toBe('offline')
    expect(closes).toEqual([{ code: closeCodes.normal, reason: 'disconnected' }])
    expect(fake.latest().closeCalls).toEqual([{ code: closeCodes.normal, reason: 'disconnected' }])
    expect(vi.getTimerCount()).toBe(0)
    connection.connect()
    expect(fake.sockets).toHaveLength(2)
  })

  it('leaves no timers and no listeners after destroy()', () => {
    const fake = fakeWebSockets()
    const env = Object.assign(new EventTarget(), { navigator: { onLine: true } })
    const connection = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket, environment: env })
    connection.connect()
    fake.latest().fail()
    vi.runOnlyPendingTimers()
    fake.latest().open()
    expect(vi.getTimerCount()).toBe(1)
    connection.destroy()
    expect(vi.getTimerCount()).toBe(0)
    const socket = fake.latest()
    expect(socket.listenerCount('open') + socket.listenerCount('message') + socket.listenerCount('close')).toBe(0)
    env.dispatchEvent(new Event('online'))
    connection.connect()
    expect(fake.sockets).toHaveLength(2)
    expect(vi.getTimerCount()).toBe(0)

    const retrying = track({ url: 'ws://relay.test', WebSocket: fake.WebSocket })
    retrying.connect()
    fake.latest().fail()
    expect(vi.getTimerCount()).toBe(1)
    retrying.destroy()
    expect(vi.getTimerCount()).toBe(0)
  })
})
