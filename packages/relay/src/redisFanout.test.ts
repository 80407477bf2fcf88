/**
 * RedisFanout on its own, against a real redis-server: what it does with a
 * message on a document's channel that another relay (or anyone who can
 * publish on that Redis) sent. The relays-together tests are in
 * relay.cluster.test.ts.
 */
import { Redis } from 'ioredis'
import * as encoding from 'lib0/encoding'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FanoutMember } from './fanout.js'
import { decodeMessage, encodeBatch, kinds, type Entry, type Message } from './fanoutMessage.js'
import { RedisFanout } from './redisFanout.js'
import { waitFor } from './test/relayHarness.js'
import { startRedis, type RedisServer } from './test/servers.js'

let redis: RedisServer
const closing: Array<() => unknown> = []

beforeAll(async () => {
  redis = await startRedis()
}, 60_000)

afterAll(async () => {
  await redis?.stop()
})

afterEach(async () => {
  for (const close of closing.splice(0)) await close()
})

/** A member that records what the fan-out hands it. */
const recordingMember = () => {
  const applied: number[][] = []
  /** Everything it was handed, in order: `update <bytes> <row id>/<previous>`, `awareness <bytes>`, `deleted`, `resync`. */
  const events: string[] = []
  const told = { deleted: 0, resyncs: 0 }
  const member: FanoutMember = {
    applyRemote: (update, _relayId, row) => {
      applied.push([...update])
      events.push(`update ${update.join(',')}${row ? ` ${row.id}/${row.previous ?? ''}` : ''}`)
    },
    applyRemoteAwareness: (_relayId, update) => events.push(`awareness ${update.join(',')}`),
    removeRelay: () => {},
    resync: () => {
      told.resyncs++
      events.push('resync')
    },
    localPresence: () => undefined,
    applyRemoteDeletion: () => {
      told.deleted++
      events.push('deleted')
    },
  }
  return { member, applied, events, told }
}

/**
 * A fan-out update message as another relay writes it (relayId, stream, seq, kind 0 = update,
 * payload), with `seq` given as its raw varuint bytes, and any trailing bytes.
 */
const rawUpdate = (payload: number[], { seq = [1], trailing = [] }: { seq?: number[]; trailing?: number[] } = {}) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, 'other-relay')
  encoding.writeVarUint(encoder, 1) // stream
  for (const byte of seq) encoding.writeUint8(encoder, byte)
  encoding.writeVarUint(encoder, 0) // kind: update
  encoding.writeVarUint8Array(encoder, new Uint8Array(payload))
  for (const byte of trailing) encoding.writeUint8(encoder, byte)
  return Buffer.from(encoding.toUint8Array(encoder))
}

/** A fan-out deletion message (kind 4) as another relay writes it, or with another stream, seq or payload. */
const rawDeletion = ({ stream = 0, seq = 0, payload = [] as number[] } = {}) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, 'other-relay')
  encoding.writeVarUint(encoder, stream)
  encoding.writeVarUint(encoder, seq)
  encoding.writeVarUint(encoder, 4) // kind: deleted
  encoding.writeVarUint8Array(encoder, new Uint8Array(payload))
  return Buffer.from(encoding.toUint8Array(encoder))
}

/** varuint 2^53 + 1: past Number.MAX_SAFE_INTEGER, so lib0 alone reads it as an imprecise number. */
const unsafeVarUint = [0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]

describe('RedisFanout', () => {
  it('drops a message with trailing bytes or an unsafe integer, and still applies the next good one', async () => {
    const fanout = await RedisFanout.connect(redis.url)
    closing.push(() => fanout.close())
    const publisher = new Redis(redis.url)
    closing.push(() => publisher.disconnect())
    const { member, applied } = recordingMember()
    const doc = `strict-${Date.now()}`
    const link = fanout.join(doc, member)
    await link.ready
    const channel = `concord:doc:${doc}`

    await publisher.publish(channel, rawUpdate([1, 1, 1], { trailing: [0] }))
    await publisher.publish(channel, rawUpdate([2, 2, 2], { seq: unsafeVarUint }))
    // Redis delivers the messages of one channel in order, so once this one arrived the bad ones were handled.
    await publisher.publish(channel, rawUpdate([3, 3, 3]))
    await waitFor(() => applied.some(([first]) => first === 3), 'the good message')
    expect(applied).toEqual([[3, 3, 3]])
  })

  it('tells the member of a deletion only in the exact form a relay sends it, and of an unknown kind never', async () => {
    const fanout = await RedisFanout.connect(redis.url)
    closing.push(() => fanout.close())
    const publisher = new Redis(redis.url)
    closing.push(() => publisher.disconnect())
    const { member, applied, told } = recordingMember()
    const doc = `deletion-${Date.now()}`
    await fanout.join(doc, member).ready
    const channel = `concord:doc:${doc}`

    await publisher.publish(channel, rawDeletion({ payload: [1] }))
    await publisher.publish(channel, rawDeletion({ stream: 1, seq: 1 }))
    const unknownKind = rawDeletion()
    unknownKind[unknownKind.length - 2] = 5
    await publisher.publish(channel, unknownKind)
    await publisher.publish(channel, rawUpdate([4, 4, 4]))
    await waitFor(() => applied.length === 1, 'the update after the malformed deletions')
    expect(told.deleted).toBe(0)

    await publisher.publish(channel, rawDeletion())
    await waitFor(() => told.deleted === 1, 'the deletion')
  })
})

/** A raw subscriber on a document's channel: every message on it, decoded. */
const listen = async (channel: string) => {
  const subscriber = new Redis(redis.url)
  closing.push(() => subscriber.disconnect())
  const heard: Message[] = []
  subscriber.on('messageBuffer', (_channel: Buffer, bytes: Buffer) => heard.push(decodeMessage(bytes)))
  await subscriber.subscribe(channel)
  return heard
}

describe('RedisFanout batches', () => {
  it('sends what a document publishes in one turn as one message, in order, rows and presence included', async () => {
    const [a, b] = await Promise.all([RedisFanout.connect(redis.url), RedisFanout.connect(redis.url)])
    closing.push(
      () => a.close(),
      () => b.close(),
    )
    const doc = `batch-${Date.now()}`
    const heard = await listen(`concord:doc:${doc}`)
    const received = recordingMember()
    await b.join(doc, received.member).ready
    const link = a.join(doc, recordingMember().member)
    await link.ready
    // A's join asks for presence (sequence number 1) in a turn of its own.
    await waitFor(() => heard.some((message) => message.relayId === a.relayId), 'the query of A joining')

    link.publishUpdate(new Uint8Array([1, 1]), { id: '7', previous: '6' })
    link.publishUpdate(new Uint8Array([2, 2]))
    link.publishAwareness(new Uint8Array([3]))
    link.publishUpdate(new Uint8Array([4, 4]), { id: '8', previous: '7' })
    await waitFor(() => received.events.length === 4, 'the four entries on B')
    expect(received.events).toEqual(['update 1,1 7/6', 'update 2,2', 'awareness 3', 'update 4,4 8/7'])

    // The test's own subscriber is another connection: what B heard may not have reached it yet.
    const fromAHeard = () => heard.filter((message) => message.relayId === a.relayId)
    await waitFor(() => fromAHeard().length >= 2, "A's batch on the test's subscriber")
    const fromA = fromAHeard()
    expect(fromA).toHaveLength(2)
    expect(fromA[1]).toMatchObject({ kind: 'stream', seq: 2, last: 5 })
    // The next turn's message follows on: no gap, so B never resyncs.
    link.publishUpdate(new Uint8Array([5, 5]))
    await waitFor(() => received.events.length === 5, 'the next turn on B')
    expect(received.events[4]).toBe('update 5,5')
    expect(received.told.resyncs).toBe(0)
    await waitFor(() => fromAHeard().length >= 3, "A's next message on the test's subscriber")
    expect(fromAHeard()).toHaveLength(3)
  })

  it('sends a batch early once it passes 1 MB, and the rest of the turn after it, never an empty one', async () => {
    const [a, b] = await Promise.all([RedisFanout.connect(redis.url), RedisFanout.connect(redis.url)])
    closing.push(
      () => a.close(),
      () => b.close(),
    )
    const doc = `large-${Date.now()}`
    const subscriber = new Redis(redis.url)
    closing.push(() => subscriber.disconnect())
    const heard: Array<Message | 'undecodable'> = []
    subscriber.on('messageBuffer', (_channel: Buffer, bytes: Buffer) => {
      try {
        heard.push(decodeMessage(bytes))
      } catch {
        heard.push('undecodable')
      }
    })
    await subscriber.subscribe(`concord:doc:${doc}`)
    const received = recordingMember()
    await b.join(doc, received.member).ready
    const link = a.join(doc, recordingMember().member)
    await link.ready

    const large = new Uint8Array(600_000).fill(7)
    link.publishUpdate(large)
    link.publishUpdate(large)
    link.publishUpdate(new Uint8Array([3]))
    await waitFor(() => received.applied.length === 3, 'the three updates on B')
    expect(received.applied.map((update) => update.length)).toEqual([600_000, 600_000, 1])
    expect(received.told.resyncs).toBe(0)
    // The test's own subscriber is another connection: what B heard may not have reached it yet.
    const fromAHeard = () => heard.filter((message) => message === 'undecodable' || message.relayId === a.relayId)
    await waitFor(() => fromAHeard().length >= 2, "A's messages on the test's subscriber")
    const fromA = fromAHeard()
    // The query of A joining and the first two updates, once they passed 1 MB; then the third.
    expect(
      fromA.map((message) =>
        message === 'undecodable' || message.kind !== 'stream' ? message : [message.seq, message.last],
      ),
    ).toEqual([
      [1, 3],
      [4, 4],
    ])
  })

  it('publishes a turn of several documents and keeps each document in order', async () => {
    const [a, b] = await Promise.all([RedisFanout.connect(redis.url), RedisFanout.connect(redis.url)])
    closing.push(
      () => a.close(),
      () => b.close(),
    )
    const docs = [`multi-1-${Date.now()}`, `multi-2-${Date.now()}`]
    const received = docs.map(() => recordingMember())
    const links = []
    for (const [i, doc] of docs.entries()) {
      await b.join(doc, received[i]!.member).ready
      const link = a.join(doc, recordingMember().member)
      await link.ready
      links.push(link)
    }
    for (let n = 1; n <= 5; n++) for (const link of links) link.publishUpdate(new Uint8Array([n]))
    for (const record of received) await waitFor(() => record.events.length === 5, 'five updates on each document')
    for (const record of received) {
      expect(record.events).toEqual(['update 1', 'update 2', 'update 3', 'update 4', 'update 5'])
      expect(record.told.resyncs).toBe(0)
    }
  })

  it('resyncs once for a batch after a gap, applies it all the same, and follows a batch with a single message', async () => {
    const fanout = await RedisFanout.connect(redis.url)
    closing.push(() => fanout.close())
    const publisher = new Redis(redis.url)
    closing.push(() => publisher.disconnect())
    const { member, events } = recordingMember()
    const doc = `gap-${Date.now()}`
    await fanout.join(doc, member).ready
    const channel = `concord:doc:${doc}`
    const update = (byte: number): Entry => ({ kind: kinds.update, update: new Uint8Array([byte]) })

    await publisher.publish(channel, encodeBatch('other-relay', 1, 1, [update(1), update(2), update(3)]))
    // Sequence number 4 follows the batch's last entry (3), not its first.
    await publisher.publish(channel, rawUpdate([4], { seq: [4] }))
    // 5 and 6 are lost.
    await publisher.publish(
      channel,
      encodeBatch('other-relay', 1, 7, [update(7), { kind: kinds.awareness, update: new Uint8Array([8]) }]),
    )
    await publisher.publish(channel, encodeBatch('other-relay', 1, 9, [update(9)]))
    await waitFor(() => events.includes('update 9'), 'the last batch')
    expect(events).toEqual([
      'update 1',
      'update 2',
      'update 3',
      'update 4',
      'update 7',
      'awareness 8',
      'resync',
      'update 9',
    ])
  })

  it('resyncs for a resync entry inside a batch, and sends a deletion after the updates of its turn', async () => {
    const [a, b] = await Promise.all([RedisFanout.connect(redis.url), RedisFanout.connect(redis.url)])
    closing.push(
      () => a.close(),
      () => b.close(),
    )
    const doc = `deleted-${Date.now()}`
    const received = recordingMember()
    await b.join(doc, received.member).ready
    const link = a.join(doc, recordingMember().member)
    await link.ready

    link.publishUpdate(new Uint8Array([1]), { id: '1', previous: undefined })
    a.publishDeletion(doc)
    await waitFor(() => received.told.deleted === 1, 'the deletion')
    expect(received.events).toEqual(['update 1 1/', 'deleted'])

    const publisher = new Redis(redis.url)
    closing.push(() => publisher.disconnect())
    await publisher.publish(`concord:doc:${doc}`, encodeBatch('other-relay', 1, 1, [{ kind: kinds.resync }]))
    await waitFor(() => received.told.resyncs === 1, 'the resync')
  })

  it('drops a batch that is empty, names an invalid row id or carries a deletion, and applies the next good one', async () => {
    const fanout = await RedisFanout.connect(redis.url)
    closing.push(() => fanout.close())
    const publisher = new Redis(redis.url)
    closing.push(() => publisher.disconnect())
    const { member, events } = recordingMember()
    const doc = `bad-batch-${Date.now()}`
    await fanout.join(doc, member).ready
    const channel = `concord:doc:${doc}`

    await publisher.publish(channel, encodeBatch('other-relay', 1, 1, []))
    await publisher.publish(
      channel,
      encodeBatch('other-relay', 1, 1, [
        { kind: kinds.update, update: new Uint8Array([1]), row: { id: '01', previous: undefined } },
      ]),
    )
    const withDeletion = encodeBatch('other-relay', 1, 1, [{ kind: kinds.query }])
    withDeletion[withDeletion.length - 1] = kinds.deleted
    await publisher.publish(channel, withDeletion)
    await publisher.publish(
      channel,
      encodeBatch('other-relay', 1, 1, [{ kind: kinds.update, update: new Uint8Array([2]) }]),
    )
    await waitFor(() => events.length > 0, 'the good batch')
    expect(events).toEqual(['update 2'])
  })
})
