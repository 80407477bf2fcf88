import { describe, expect, it } from 'vitest'
import { WriteLedger } from './writeLedger.js'

describe('WriteLedger', () => {
  it('maps acks to the elements of their rows, merged rows too', () => {
    const ledger = new WriteLedger(1, Date.now())
    ledger.sent(0, 'd', 's1.0', false)
    ledger.sent(0, 'd', 's1.1', false)
    ledger.heard(0, { type: 'committed', doc: 'd', elements: ['s1.0'], id: 1 })
    ledger.heard(0, { type: 'committed', doc: 'd', elements: ['s1.1'], id: 2 })
    ledger.heard(0, { type: 'merged', doc: 'd', ids: [1, 2], into: 2 })
    ledger.heard(0, { type: 'acknowledged', doc: 'd', ids: [2] })
    expect([...ledger.acknowledged].sort()).toEqual(['s1.0', 's1.1'])
  })

  it('takes a resolved whenSynced as covering the writes its process or tab made before the call', () => {
    const ledger = new WriteLedger(1, Date.now())
    for (const element of ['s1.0', 's1.1', 's1.2']) ledger.sent(0, 'd', element, false)
    ledger.heard(0, { type: 'synced', doc: 'd', elements: ['s1.0', 's1.1'] })
    expect([...ledger.syncClaimed]).toEqual(['s1.0', 's1.1'])
  })

  it('counts a missing write as vanished unless its process was killed before committing it, or was told', () => {
    const ledger = new WriteLedger(2, Date.now())
    ledger.sent(0, 'd', 's1.0', false)
    ledger.sent(0, 'd', 's1.1', false)
    ledger.heard(0, { type: 'committed', doc: 'd', elements: ['s1.1'], id: 1 })
    ledger.killed(0)
    ledger.restarted(0)
    ledger.sent(1, 'd', 's1.2', false)
    ledger.sent(1, 'd', 's1.3', false)
    ledger.heard(1, { type: 'error', code: 'store', message: 'failed', doc: 'other' })
    ledger.sent(0, 'e', 's1.4', false)
    ledger.heard(0, { type: 'error', code: 'store', message: 'failed', doc: 'e' })
    // s1.0: killed before its commit. s1.1 committed then lost, and no later process of r0 said
    // anything of its document; s1.2 and s1.3 never told (the error was for another document);
    // s1.4 was told, by an error of its client.
    expect(ledger.vanished(new Set())).toEqual(['s1.1', 's1.2', 's1.3'])
  })

  it("takes an error of a later process as told for a committed write, which that process's store holds", () => {
    const ledger = new WriteLedger(1, Date.now())
    ledger.sent(0, 'd', 's1.0', false)
    ledger.sent(0, 'e', 's1.1', false)
    ledger.sent(0, 'd', 's1.2', false)
    ledger.heard(0, { type: 'committed', doc: 'd', elements: ['s1.0'], id: 1 })
    ledger.heard(0, { type: 'committed', doc: 'e', elements: ['s1.1'], id: 1 })
    ledger.killed(0)
    ledger.restarted(0)
    ledger.heard(0, { type: 'error', code: 'refused', message: 'read-only', doc: 'd' })
    // s1.0 is reloaded and refused in the new process; s1.1 is of another document; s1.2 never
    // reached the store, so no later process knows of it (and it died with its process).
    expect(ledger.vanished(new Set())).toEqual(['s1.1'])
  })

  it('takes a refusal told earlier by the same process as standing for its later writes to that document', () => {
    const ledger = new WriteLedger(1, Date.now())
    ledger.heard(0, { type: 'error', code: 'refused', message: 'read-only', doc: 'd' })
    ledger.heard(0, { type: 'error', code: 'store', message: 'failed', doc: 'e' })
    ledger.sent(0, 'd', 's1.0', false)
    ledger.sent(0, 'e', 's1.1', false)
    ledger.sent(0, 'f', 's1.2', false)
    // Only a refusal stands, and only for its document.
    expect(ledger.vanished(new Set())).toEqual(['s1.1', 's1.2'])
  })

  it('counts a relay close of an honest replica as a problem unless it is routine or a store failure', () => {
    const ledger = new WriteLedger(1, Date.now())
    for (const code of [1000, 1001, 4408, 4503, 4508])
      ledger.heard(0, { type: 'closedByRelay', code, reason: 'routine' })
    expect(ledger.relayCloses).toEqual([])
    ledger.heard(0, { type: 'closedByRelay', code: 4400, reason: 'sequence number 1 is not above 4' })
    expect(ledger.relayCloses).toHaveLength(1)
    expect(ledger.relayCloses[0]).toContain('4400 (sequence number 1 is not above 4)')
  })
})
