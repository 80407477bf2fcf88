/**
 * Owns what one test file starts: its relays and its native test clients,
 * each closed after every test, so a test file says only what it does.
 */
import { afterEach } from 'vitest'
import { NativeTestClient } from './nativeTestClient.js'
import { startRelay, type TestRelay } from './relayHarness.js'

export const testRelays = () => {
  const relays: TestRelay[] = []
  const clients: NativeTestClient[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    for (const relay of relays.splice(0)) await relay.close()
  })
  return {
    /** A relay on a loopback port (see startRelay), closed after the test. */
    start: async (options: Parameters<typeof startRelay>[0] = {}): Promise<TestRelay> => {
      const relay = await startRelay(options)
      relays.push(relay)
      return relay
    },
    /** A native client of `relay`, with `token` sent first when given, closed after the test. */
    connect: async (relay: TestRelay, token?: string): Promise<NativeTestClient> => {
      const client = await NativeTestClient.connect(relay.url)
      if (token) client.send({ type: 'auth', doc: '', token })
      clients.push(client)
      return client
    },
  }
}
