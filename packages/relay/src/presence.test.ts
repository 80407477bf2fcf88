import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import { Presence } from './presence.js'

const alice = { name: 'alice' }
const bob = { name: 'bob' }
const update = (...entries: AwarenessEntry[]) => encodeAwarenessUpdate(entries)
const snapshotOf = (presence: Presence<object>) => {
  const snapshot = presence.snapshot()
  return snapshot ? decodeAwarenessUpdate(snapshot) : []
}

describe('Presence', () => {
  it('keeps the latest state per client for newcomers', () => {
    const presence = new Presence<object>()
    expect(presence.snapshot()).toBeUndefined()
    presence.apply(alice, update({ clientId: 1, clock: 1, state: '{"cursor":1}' }))
    presence.apply(alice, update({ clientId: 1, clock: 2, state: '{"cursor":2}' }))
    presence.apply(alice, update({ clientId: 1, clock: 1, state: '{"cursor":"stale"}' }))
    presence.apply(bob, update({ clientId: 2, clock: 5, state: '{}' }))
    expect(snapshotOf(presence)).toEqual([
      { clientId: 1, clock: 2, state: '{"cursor":2}' },
      { clientId: 2, clock: 5, state: '{}' },
    ])
  })

  it('forgets a client that left, and lets a removal win a tie', () => {
    const presence = new Presence<object>()
    presence.apply(alice, update({ clientId: 1, clock: 3, state: '{"a":1}' }))
    presence.apply(alice, update({ clientId: 1, clock: 3, state: '{"a":2}' }))
    expect(snapshotOf(presence)).toEqual([{ clientId: 1, clock: 3, state: '{"a":1}' }])
    presence.apply(alice, update({ clientId: 1, clock: 3, state: 'null' }))
    expect(presence.snapshot()).toBeUndefined()
  })

  it('retracts exactly the clients a peer introduced when it leaves, with a newer clock', () => {
    const presence = new Presence<object>()
    presence.apply(alice, update({ clientId: 1, clock: 4, state: '{}' }, { clientId: 3, clock: 1, state: '{}' }))
    presence.apply(bob, update({ clientId: 2, clock: 7, state: '{}' }))
    const removal = presence.removeOwnedBy(alice)
    expect(decodeAwarenessUpdate(removal!)).toEqual([
      { clientId: 1, clock: 5, state: 'null' },
      { clientId: 3, clock: 2, state: 'null' },
    ])
    expect(snapshotOf(presence).map((entry) => entry.clientId)).toEqual([2])
    expect(presence.removeOwnedBy(alice)).toBeUndefined()
  })

  it('refuses an update that does not decode or whose state is not JSON, and applies none of it', () => {
    const presence = new Presence<object>()
    expect(() => presence.apply(alice, new Uint8Array([5, 1]))).toThrow(
      expect.objectContaining({ code: 'invalidUpdate' }),
    )
    expect(() =>
      presence.apply(alice, update({ clientId: 1, clock: 1, state: '{}' }, { clientId: 2, clock: 1, state: '{oops' })),
    ).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
    expect(presence.snapshot()).toBeUndefined()
  })

  it("drops entries for another peer's client ids, and forwards only what it accepted", () => {
    const presence = new Presence<object>()
    const aliceSays = update({ clientId: 1, clock: 1, state: '{"name":"alice"}' })
    expect(presence.apply(alice, aliceSays)).toBe(aliceSays)
    // Bob claims Alice's id, and clears it: neither is accepted, nothing is forwarded.
    expect(presence.apply(bob, update({ clientId: 1, clock: 9, state: '{"name":"fake"}' }))).toBeUndefined()
    expect(presence.apply(bob, update({ clientId: 1, clock: 9, state: 'null' }))).toBeUndefined()
    // A mix: only Bob's own entry goes on.
    const forwarded = presence.apply(
      bob,
      update({ clientId: 1, clock: 10, state: '{}' }, { clientId: 2, clock: 1, state: '{}' }),
    )
    expect(decodeAwarenessUpdate(forwarded!)).toEqual([{ clientId: 2, clock: 1, state: '{}' }])
    expect(snapshotOf(presence)).toEqual([
      { clientId: 1, clock: 1, state: '{"name":"alice"}' },
      { clientId: 2, clock: 1, state: '{}' },
    ])
    // Once Alice has left, her id is free.
    presence.removeOwnedBy(alice)
    expect(presence.apply(bob, update({ clientId: 1, clock: 11, state: '{}' }))).toBeDefined()
  })

  it("holds back a claim on another peer's client, and hands the client to it when the owner leaves", () => {
    const presence = new Presence<object>()
    const contested: object[] = []
    presence.apply(alice, update({ clientId: 1, clock: 4, state: '{"v":"old"}' }))
    const claim = update({ clientId: 1, clock: 6, state: '{"v":"new"}' })
    expect(presence.apply(bob, claim, (owner) => contested.push(owner))).toBeUndefined()
    expect(contested).toEqual([alice])
    expect(snapshotOf(presence)).toEqual([{ clientId: 1, clock: 4, state: '{"v":"old"}' }])
    // Alice leaves: everyone is told Bob's state, not a removal.
    expect(decodeAwarenessUpdate(presence.removeOwnedBy(alice)!)).toEqual([
      { clientId: 1, clock: 6, state: '{"v":"new"}' },
    ])
    expect(snapshotOf(presence)).toEqual([{ clientId: 1, clock: 6, state: '{"v":"new"}' }])
    expect(presence.removeOwnedBy(bob)).toBeDefined()
    expect(presence.snapshot()).toBeUndefined()
  })

  it('removes the client when the held claim would lose to the removal, or its claimer left first', () => {
    const presence = new Presence<object>()
    const carol = { name: 'carol' }
    presence.apply(alice, update({ clientId: 1, clock: 4, state: '{}' }, { clientId: 2, clock: 1, state: '{}' }))
    // Clock 5 ties the removal's (4 + 1): the others would keep the removal, so the client is removed.
    presence.apply(bob, update({ clientId: 1, clock: 5, state: '{"v":"tie"}' }))
    presence.apply(carol, update({ clientId: 2, clock: 9, state: '{"v":"gone"}' }))
    presence.removeOwnedBy(carol)
    expect(decodeAwarenessUpdate(presence.removeOwnedBy(alice)!)).toEqual([
      { clientId: 1, clock: 5, state: 'null' },
      { clientId: 2, clock: 2, state: 'null' },
    ])
    expect(presence.snapshot()).toBeUndefined()
  })

  it('drops a state over the size cap', () => {
    const presence = new Presence<object>(64)
    const big = JSON.stringify({ name: 'x'.repeat(64) })
    expect(presence.apply(alice, update({ clientId: 1, clock: 1, state: big }))).toBeUndefined()
    expect(presence.snapshot()).toBeUndefined()
    expect(presence.apply(alice, update({ clientId: 1, clock: 2, state: '{"name":"short"}' }))).toBeDefined()
  })
})
