/**
 * Owns the behaviour every DocStore with a webhook outbox must have (see
 * DocStoreOutbox in webhookOutbox.ts): events recorded with the change that
 * causes them and only then, coalescing of waiting document.changed events,
 * leases, acks, retries, and survival across a reopen. Stores shared by
 * several relays also pass `share`, and are checked for single delivery.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocStore } from '../docStore.js'
import { DocumentDeletedError } from '../errors.js'
import { outboxEvent, outboxOf, type DocStoreOutbox, type OutboxEvent } from '../webhookOutbox.js'

export interface OutboxStoreFactory {
  create(): Promise<DocStore>
  /** A new store over the data of the last one created (which is closed first). */
  reopen?(): Promise<DocStore>
  /** A second store over the data of the last one created, open beside it (another relay's). */
  share?(): Promise<DocStore>
  cleanup?(): Promise<void>
}

const timing = { debounceMs: 1_000, maxWaitMs: 5_000 }
const lease = { leaseMs: 60_000, limit: 100 }

const anUpdate = (text = 'x', clientID = 1): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

const changed = (doc: string, subjects: string[], clocks: Record<string, number>, time: number): OutboxEvent =>
  outboxEvent('document.changed', doc, subjects, clocks, timing, time)

export const describeDocStoreOutbox = (name: string, factory: OutboxStoreFactory): void => {
  describe(`DocStore outbox conformance: ${name}`, () => {
    const open: DocStore[] = []
    const create = async (how: () => Promise<DocStore>): Promise<DocStore & DocStoreOutbox> => {
      const store = await how()
      open.push(store)
      const outbox = outboxOf(store)
      if (!outbox) throw new Error(`${name} has no outbox`)
      return outbox
    }

    afterEach(async () => {
      for (const store of open.splice(0)) await store.close().catch(() => {})
      await factory.cleanup?.()
    })

    it('records the events of an append, and hands a due one out once, under a lease', async () => {
      const store = await create(() => factory.create())
      const t = 1_000_000
      const created = outboxEvent('document.created', 'a', ['ann'], {}, timing, t)
      const change = changed('a', ['ann'], { '1': 1 }, t)
      await store.append('a', anUpdate(), [created, change])
      // The changed event waits for its debounce; the created one is due at once.
      const first = await store.claimOutbox({ now: t, ...lease })
      expect(first.map((event) => [event.id, event.type, event.doc, event.attempts])).toEqual([
        [created.id, 'document.created', 'a', 1],
      ])
      expect(await store.claimOutbox({ now: t + 1, ...lease })).toEqual([])
      const later = await store.claimOutbox({ now: t + timing.debounceMs, ...lease })
      expect(later).toEqual([
        {
          id: change.id,
          type: 'document.changed',
          doc: 'a',
          time: t,
          createdAt: t,
          subjects: ['ann'],
          stateVector: { '1': 1 },
          attempts: 1,
        },
      ])
      // Leased: nobody gets them again until the lease runs out, then the next claim does.
      expect(await store.claimOutbox({ now: t + 30_000, ...lease })).toEqual([])
      const again = await store.claimOutbox({ now: t + timing.debounceMs + lease.leaseMs, ...lease })
      expect(again.map((event) => [event.id, event.attempts]).sort()).toEqual(
        [
          [created.id, 2],
          [change.id, 2],
        ].sort(),
      )
      expect(await store.outboxStats()).toEqual({ depth: 2, oldestAt: t })
      await store.ackOutbox([created.id, change.id, 'no-such-event'])
      expect(await store.outboxStats()).toEqual({ depth: 0, oldestAt: undefined })
      expect(await store.claimOutbox({ now: t + 10 * lease.leaseMs, ...lease })).toEqual([])
    })

    it('joins the changed events of a document while one waits, and starts a new one once it is claimed', async () => {
      const store = await create(() => factory.create())
      const t = 2_000_000
      const first = changed('a', ['ann'], { '1': 3, '2': 5 }, t)
      await Promise.all([
        store.append('a', anUpdate('a'), [first]),
        store.append('a', anUpdate('b'), [changed('a', ['bob'], { '1': 4, '2': 2 }, t + 10)]),
        store.append('b', anUpdate('c'), [changed('b', ['cy'], { '9': 1 }, t + 10)]),
      ])
      await store.append('a', anUpdate('d'), [changed('a', ['ann', 'dee'], { '3': 1 }, t + 900)])
      // Each change pushed the debounce on: due 1 s after the last one.
      expect(await store.claimOutbox({ now: t + 1_500, ...lease })).toHaveLength(1)
      const [joined] = await store.claimOutbox({ now: t + 1_900, ...lease })
      expect(joined).toMatchObject({ id: first.id, doc: 'a', time: t + 900, createdAt: t, attempts: 1 })
      expect([...joined!.subjects].sort()).toEqual(['ann', 'bob', 'dee'])
      expect(joined!.stateVector).toEqual({ '1': 4, '2': 5, '3': 1 })
      // Claimed, it is frozen: the next change is a new event.
      const next = changed('a', ['eve'], { '1': 5 }, t + 2_000)
      await store.append('a', anUpdate('e'), [next])
      await store.retryOutbox(first.id, t + 2_000)
      const both = await store.claimOutbox({ now: t + 3_000, ...lease })
      expect(both.map((event) => [event.id, event.subjects, event.attempts]).sort()).toEqual(
        [
          [first.id, joined!.subjects, 2],
          [next.id, ['eve'], 1],
        ].sort(),
      )
      // A retry sends what the first claim froze; the new event has the document's clocks, though it
      // carried only those of the client it wrote.
      expect(both.find((event) => event.id === first.id)!.stateVector).toEqual({ '1': 4, '2': 5, '3': 1 })
      expect(both.find((event) => event.id === next.id)!.stateVector).toEqual({ '1': 5, '2': 5, '3': 1 })
    })

    it('keeps a busy document waiting no longer than the first event allowed', async () => {
      const store = await create(() => factory.create())
      const t = 3_000_000
      for (let i = 0; i <= 10; i++) await store.append('a', anUpdate(String(i)), [changed('a', [], {}, t + i * 900)])
      // 11 changes 0.9 s apart would debounce to 10 s; the first allowed 5 s.
      expect(await store.claimOutbox({ now: t + timing.maxWaitMs - 1, ...lease })).toEqual([])
      expect(await store.claimOutbox({ now: t + timing.maxWaitMs, ...lease })).toHaveLength(1)
    })

    it('records a removal event with the tombstone, and no event of an append that is refused', async () => {
      const store = await create(() => factory.create())
      const t = 4_000_000
      const change = changed('a', ['ann'], { '7': 2 }, t)
      await store.append('a', anUpdate(), [change])
      await store.append('b', anUpdate(), [changed('b', ['bob'], { '8': 1 }, t)])
      const deleted = outboxEvent('document.deleted', 'a', ['api'], {}, timing, t)
      await store.remove!('a', [deleted])
      await expect(store.append('a', anUpdate(), [changed('a', ['late'], { '1': 9 }, t)])).rejects.toBeInstanceOf(
        DocumentDeletedError,
      )
      const claimed = await store.claimOutbox({ now: t + 60 * 60_000, ...lease })
      expect(
        claimed.filter((event) => event.doc === 'a').map((event) => [event.id, event.type, event.stateVector]),
      ).toEqual([
        [deleted.id, 'document.deleted', {}],
        [change.id, 'document.changed', { '7': 2 }],
      ])
    })

    if (factory.reopen) {
      it('keeps unacked events, claimed or not, across a reopen', async () => {
        const store = await create(() => factory.create())
        const t = 5_000_000
        const a = outboxEvent('document.created', 'a', ['ann'], {}, timing, t)
        const b = outboxEvent('document.created', 'b', ['bob'], {}, timing, t)
        await store.append('a', anUpdate(), [a])
        await store.append('b', anUpdate(), [b])
        await store.claimOutbox({ now: t, leaseMs: 1_000, limit: 1 })
        await store.close()
        const reopened = await create(() => factory.reopen!())
        const claimed = await reopened.claimOutbox({ now: t + 1_000, ...lease })
        expect(claimed.map((event) => event.id).sort()).toEqual([a.id, b.id].sort())
      })
    }

    if (factory.share) {
      it('hands each event to one of two stores claiming at once', async () => {
        const store = await create(() => factory.create())
        const other = await create(() => factory.share!())
        const t = 6_000_000
        const events = Array.from({ length: 60 }, (_, i) => outboxEvent('document.created', `d${i}`, [], {}, timing, t))
        await Promise.all(events.map((event) => store.append(event.doc, anUpdate(), [event])))
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? store : other).claimOutbox({ now: t, leaseMs: 60_000, limit: 7 }),
          ),
        )
        const ids = claims.flat().map((event) => event.id)
        expect(new Set(ids).size).toBe(ids.length)
        expect(ids.sort()).toEqual(events.map((event) => event.id).sort())
      })
    }
  })
}
