/**
 * Owns what a cluster test starts and must close after each test: relays in
 * cluster mode (a PostgreSQL store and a Redis fan-out each), the native
 * clients connected to them, and the store connections the test reads with.
 * The PostgreSQL and redis-server processes stay the test file's own.
 */
import { afterEach } from 'vitest'
import type { DocStore } from '../docStore.js'
import { PostgresDocStore } from '../postgresDocStore.js'
import { RedisFanout, type RedisFanoutOptions } from '../redisFanout.js'
import type { RelayOptions } from '../relayOptions.js'
import { NativeTestClient } from './nativeTestClient.js'
import { startRelay, type TestRelay } from './relayHarness.js'

export interface ClusterRelay extends TestRelay {
  readonly fanout: RedisFanout
}

export interface ClusterRelaySetUp {
  /** The fan-out's own options (a short heartbeat, say). */
  readonly fanout?: RedisFanoutOptions
  /** Wraps the relay's PostgreSQL store, e.g. in a FaultInjectingDocStore. */
  readonly wrapStore?: (store: DocStore) => DocStore
}

/** Call at the top of a test file; `postgresUrl` is read when a relay or reader starts. */
export const useClusterRelays = (postgresUrl: () => string) => {
  const relays: ClusterRelay[] = []
  const clients: NativeTestClient[] = []
  const stores: DocStore[] = []

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    await Promise.all(
      relays.splice(0).map(async (relay) => {
        await relay.close()
        await relay.fanout.close()
      }),
    )
    await Promise.all(stores.splice(0).map((store) => store.close()))
  })

  return {
    /** A relay on `redisUrl`'s fan-out and, unless `options.store` says otherwise, the shared PostgreSQL. */
    startClusterRelay: async (
      redisUrl: string,
      options: Partial<RelayOptions> = {},
      { fanout: fanoutOptions, wrapStore = (store) => store }: ClusterRelaySetUp = {},
    ): Promise<ClusterRelay> => {
      const store = wrapStore(options.store ?? (await PostgresDocStore.open(postgresUrl())))
      const fanout = await RedisFanout.connect(redisUrl, fanoutOptions)
      const relay = { ...(await startRelay({ ...options, store, fanout })), fanout }
      relays.push(relay)
      return relay
    },
    connect: async (relay: TestRelay): Promise<NativeTestClient> => {
      const client = await NativeTestClient.connect(relay.url)
      clients.push(client)
      return client
    },
    /** A connection of its own to the shared store, to read what is durable. */
    openReader: async (): Promise<PostgresDocStore> => {
      const store = await PostgresDocStore.open(postgresUrl())
      stores.push(store)
      return store
    },
  }
}
