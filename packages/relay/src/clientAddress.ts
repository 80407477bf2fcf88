/**
 * Owns which address a connection counts as, for the per-address limit and
 * the logs: the socket's peer, or, when that peer is a trusted proxy, the
 * address the proxies name in X-Forwarded-For. Only what trusted proxies
 * appended is believed: the header is read from the right, past every
 * trusted proxy, and the first other address is the client's. Whatever a
 * client wrote further left is ignored, so it cannot pick its own address.
 */
import type { IncomingMessage } from 'node:http'

/** `::ffff:127.0.0.1`, as Node reports an IPv4 peer on a dual-stack socket, is `127.0.0.1`. */
export const normalizeAddress = (address: string): string => {
  const trimmed = address.trim()
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(trimmed) ? trimmed.slice(7) : trimmed
}

export type ClientAddressOf = (request: IncomingMessage) => string

export const clientAddressResolver = (trustedProxies: readonly string[]): ClientAddressOf => {
  const trusted = new Set(trustedProxies.map(normalizeAddress))
  return (request) => {
    const peer = normalizeAddress(request.socket.remoteAddress ?? 'unknown')
    if (!trusted.has(peer)) return peer
    const header = request.headers['x-forwarded-for']
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map(normalizeAddress)
      .filter((hop) => hop !== '')
    for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i]!)) return hops[i]!
    // Only proxies, or no header: the farthest one known.
    return hops[0] ?? peer
  }
}
