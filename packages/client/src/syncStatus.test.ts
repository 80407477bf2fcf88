import { describe, expect, it } from 'vitest'
import { syncStatusOf } from './syncStatus.js'

describe('syncStatusOf', () => {
  it('follows the connection while there is none', () => {
    expect(syncStatusOf({ connection: 'offline', relayStateReceived: true, pending: 0 })).toBe('offline')
    expect(syncStatusOf({ connection: 'connecting', relayStateReceived: false, pending: 3 })).toBe('connecting')
  })

  it('is syncing while connected until the relay state arrived and nothing is pending', () => {
    expect(syncStatusOf({ connection: 'open', relayStateReceived: false, pending: 0 })).toBe('syncing')
    expect(syncStatusOf({ connection: 'open', relayStateReceived: true, pending: 1 })).toBe('syncing')
    expect(syncStatusOf({ connection: 'open', relayStateReceived: true, pending: 0 })).toBe('synced')
  })
})
