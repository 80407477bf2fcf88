/**
 * Clock squatting across a cluster: a squatter on relay A writes under a
 * victim's next clocks, and the victim's real edit with those clocks reaches
 * relay B before the news of the squat does (here never: the relays share
 * PostgreSQL, but each has a Redis of its own, as when Redis loses the
 * message). The store's log order decides which content every load serves;
 * B must not acknowledge the edit the log will never serve.
 */
import { closeCodes } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { admitLog } from './quarantine.js'
import type { RelayOptions } from './relayOptions.js'
import { useClusterRelays } from './test/clusterRelays.js'
import { editAs } from './test/forgedEdit.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor, type TestRelay } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'
import type { RedisServer } from './test/servers.js'
import { mergeUpdates } from './yjsUpdates.js'

const { postgres, redis } = useClusterServers({ redis: 2 })

const { startClusterRelay: startOnRedis, connect, openReader } = useClusterRelays(() => postgres().url)

const startClusterRelay = (server: RedisServer, options?: Partial<RelayOptions>) => startOnRedis(server.url, options)

/** The text `t` that every load serves of `doc`: the log admitted in its order, as a relay loads it. */
const servedText = async (doc: string): Promise<string> => {
  const store = await openReader()
  const ydoc = new Y.Doc()
  const { updates } = admitLog(await store.load(doc))
  if (updates.length > 0) Y.applyUpdate(ydoc, mergeUpdates(updates))
  return ydoc.getText('t').toString()
}

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** Long enough for a loaded machine. */
const clusterTimeoutMs = 10_000

/** What a squat race leaves: the victim's client, its refused edit's seq, and its client id. */
interface SquatRace {
  readonly victim: NativeTestClient
  readonly seq: number
  readonly victimId: number
  /** The victim's next edit (clocks 11 to 17), built on its refused one. */
  readonly next: Uint8Array
}

/**
 * The victim writes "hello" through B; a squatter on A writes " evil" under the victim's next clocks;
 * the victim's own " world" under them then reaches B, which has not heard of the squat. Resolves
 * once B answered it.
 */
const squatRace = async (a: TestRelay, b: TestRelay, doc: string): Promise<SquatRace> => {
  const victim = await connect(b)
  const v = victim.open(doc)
  await victim.whenSynced(doc)
  v.doc.getText('t').insert(0, 'hello')
  await victim.whenAcked(doc)
  const victimState = Y.encodeStateAsUpdate(v.doc)
  const victimId = v.doc.clientID

  // The squatter learns the victim's next clock from A's state and writes " evil" there first.
  const squatter = await connect(a)
  const s = squatter.open(doc)
  await waitFor(() => textOf(squatter, doc) === 'hello', 'the content on A', clusterTimeoutMs)
  expect(Y.decodeStateVector(Y.encodeStateVector(s.doc)).get(victimId)).toBe(5)
  const squat = editAs(Y.encodeStateAsUpdate(s.doc), victimId, (forged) => forged.getText('t').insert(5, ' evil'))
  squatter.send({ type: 'sync', doc, seq: ++s.sentSeq, sync: { type: 'update', update: squat } })
  await squatter.whenAcked(doc)

  // The victim's own edit, under the same clocks, reaches B, which has not heard of the squat.
  const own = new Y.Doc()
  Y.applyUpdate(own, victimState)
  own.clientID = victimId
  const real: Uint8Array[] = []
  own.on('update', (update: Uint8Array) => real.push(update))
  own.getText('t').insert(5, ' world')
  own.getText('t').insert(11, ', again')
  const seq = ++v.sentSeq
  victim.send({ type: 'sync', doc, seq, sync: { type: 'update', update: real[0]! } })
  await waitFor(() => v.refused.has(seq) || v.ackedSeq >= seq, "an answer to the victim's edit", clusterTimeoutMs)
  return { victim, seq, victimId, next: real[1]! }
}

/** The strings an update inserts. */
const insertedText = (update: Uint8Array): string[] =>
  Y.decodeUpdate(update).structs.flatMap((struct) =>
    struct instanceof Y.Item && struct.content instanceof Y.ContentString ? [struct.content.str] : [],
  )

describe('clock squatting in cluster mode (PostgreSQL, a Redis per relay)', () => {
  it("refuses, never acknowledges, the victim's edit on relay B under clocks a squatter on A stored first", async () => {
    const a = await startClusterRelay(redis(0))
    const b = await startClusterRelay(redis(1))
    const doc = `squat-${Date.now()}`
    const { victim, seq } = await squatRace(a, b, doc)
    const v = victim.documents.get(doc)!
    expect(v.ackedSeq).toBeLessThan(seq)
    expect(v.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })

    // What every load serves is the squatter's; B, which served the victim's, reloads and serves it too.
    expect(await servedText(doc)).toBe('hello evil')
    await waitFor(() => v.error !== undefined, "the victim's document to be refused", clusterTimeoutMs)
    expect(v.error?.code).toBe(closeCodes.documentUnavailable)
    const reader = await connect(b)
    reader.open(doc)
    await waitFor(() => textOf(reader, doc) === 'hello evil', 'the served content on B', clusterTimeoutMs)
  })

  it('never reports the refused edit as stored: not to onChange, nor in the clocks of a webhook event', async () => {
    const changes: Uint8Array[] = []
    const a = await startClusterRelay(redis(0))
    const b = await startClusterRelay(redis(1), {
      onChangeDebounceMs: 10,
      onChange: (change) => void changes.push(change.update),
      webhookEvents: { debounceMs: 10 },
    })
    const doc = `squat-hooks-${Date.now()}`
    const { victim, seq, victimId } = await squatRace(a, b, doc)
    expect(victim.documents.get(doc)!.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })

    // A later edit on B reaches the hook: everything B stored before it did, or never will.
    const writer = await connect(b)
    const w = writer.open(doc)
    await waitFor(() => textOf(writer, doc) === 'hello evil', 'the served content on B', clusterTimeoutMs)
    w.doc.getText('t').insert(0, '>')
    await writer.whenAcked(doc)
    await waitFor(
      () => changes.some((update) => insertedText(update).includes('>')),
      'the later edit',
      clusterTimeoutMs,
    )
    expect(changes.flatMap(insertedText)).not.toContain(' world')

    // The events claim no clock of the victim's past what the log serves (" evil" ends at 10).
    const reader = await openReader()
    const events = await reader.claimOutbox({ now: Date.now() + 3_600_000, leaseMs: 60_000, limit: 1_000 })
    const changed = events.filter((event) => event.doc === doc && event.type === 'document.changed')
    expect(changed.length).toBeGreaterThan(0)
    for (const event of changed) expect(event.stateVector[String(victimId)] ?? 0).toBeLessThanOrEqual(10)
  })

  it("never forwards the refused edit to B's other peers, whose copies could never give it back", async () => {
    const a = await startClusterRelay(redis(0))
    const b = await startClusterRelay(redis(1))
    const doc = `squat-forward-${Date.now()}`
    const bystander = await connect(b)
    bystander.open(doc)
    await bystander.whenSynced(doc)
    const { victim, seq } = await squatRace(a, b, doc)
    expect(victim.documents.get(doc)!.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })
    await waitFor(
      () => textOf(bystander, doc) === 'hello',
      "the victim's first edit on the bystander",
      clusterTimeoutMs,
    )
    const received = bystander.received.flatMap((frame) =>
      frame.type === 'sync' && frame.sync.type !== 'step1' ? insertedText(frame.sync.update) : [],
    )
    expect(received).not.toContain(' world')
    expect(textOf(bystander, doc)).not.toContain('world')
  })

  it('refuses, after B reloads, what the victim writes past its refused clocks (its client stays contested)', async () => {
    const a = await startClusterRelay(redis(0))
    const b = await startClusterRelay(redis(1))
    const doc = `squat-contested-${Date.now()}`
    const { victim, seq, next } = await squatRace(a, b, doc)
    const v = victim.documents.get(doc)!
    expect(v.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })
    await waitFor(() => v.error !== undefined, "the victim's document to be refused", clusterTimeoutMs)

    // The victim's client opens the document again on B, which loads it afresh, and writes on.
    const back = await connect(b)
    const again = back.open(doc)
    await waitFor(() => textOf(back, doc) === 'hello evil', 'the served content on B', clusterTimeoutMs)
    const nextSeq = ++again.sentSeq
    back.send({ type: 'sync', doc, seq: nextSeq, sync: { type: 'update', update: next } })
    await waitFor(() => again.refused.has(nextSeq) || again.ackedSeq >= nextSeq, 'an answer', clusterTimeoutMs)
    expect(again.refused.get(nextSeq)).toMatchObject({ code: closeCodes.invalidUpdate })
    expect(await servedText(doc)).toBe('hello evil')
  })
})
