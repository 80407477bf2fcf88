import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { clientAddressResolver } from './clientAddress.js'

const request = (remoteAddress: string, forwardedFor?: string | string[]) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage

describe('clientAddressResolver', () => {
  it('takes the socket peer, and ignores X-Forwarded-For, when no proxy is trusted', () => {
    const addressOf = clientAddressResolver([])
    expect(addressOf(request('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9')
    expect(addressOf(request('::ffff:203.0.113.9'))).toBe('203.0.113.9')
  })

  it('takes the address a trusted proxy names, past every trusted hop, whatever the client wrote before it', () => {
    const addressOf = clientAddressResolver(['10.0.0.1', '10.0.0.2'])
    expect(addressOf(request('10.0.0.1', '198.51.100.7'))).toBe('198.51.100.7')
    expect(addressOf(request('::ffff:10.0.0.1', 'forged, 198.51.100.7, 10.0.0.2'))).toBe('198.51.100.7')
    expect(addressOf(request('10.0.0.1', ['1.1.1.1, 198.51.100.7', '10.0.0.2']))).toBe('198.51.100.7')
    // A peer that is not trusted is the client, whatever it claims.
    expect(addressOf(request('203.0.113.9', '198.51.100.7'))).toBe('203.0.113.9')
  })

  it('falls back to the farthest proxy known when the header names only proxies, or is missing', () => {
    const addressOf = clientAddressResolver(['10.0.0.1', '10.0.0.2'])
    expect(addressOf(request('10.0.0.1', '10.0.0.2'))).toBe('10.0.0.2')
    expect(addressOf(request('10.0.0.1'))).toBe('10.0.0.1')
    expect(addressOf(request('10.0.0.1', ' , '))).toBe('10.0.0.1')
  })
})
