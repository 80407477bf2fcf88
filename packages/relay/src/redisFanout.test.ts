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
  const told = { deleted: 0 }
  const member: FanoutMember = {
    applyRemote: (update) => applied.push([...update]),
    applyRemoteAwareness: () => {},
    removeRelay: () => {},
    resync: () => {},
    localPresence: () => undefined,
    applyRemoteDeletion: () => told.deleted++,
  }
  return { member, applied, told }
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
