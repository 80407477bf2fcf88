/**
 * Owns the cluster scenario from the runner's side: a real PostgreSQL and
 * redis-server (the relay's own test kit starts them on free loopback ports),
 * then the fan-out load against one relay on that PostgreSQL, and against two
 * relays sharing it through Redis, the clients of each document spread over
 * the two. Same parameters as the fan-out scenario.
 */
import { startPostgres, startRedis } from '@concord/relay/testing'
import type { FanoutResult } from './load/fanout.js'
import type { Profile } from './profiles.js'
import { runLoad, withServer, type RunOptions } from './scenarios.js'

export interface ClusterResult {
  readonly oneRelay: FanoutResult
  readonly twoRelays: FanoutResult
}

export const runClusterScenario = async (profile: Profile, options: RunOptions): Promise<ClusterResult> => {
  options.log('cluster: starting PostgreSQL and Redis')
  const postgres = await startPostgres()
  const redis = await startRedis()
  try {
    const store = ['--store', postgres.url]
    const cluster = [...store, '--redis', redis.url]
    options.log('cluster: one relay on PostgreSQL')
    const oneRelay = await withServer('concord', options, { scenario: 'cluster: one relay', relayArgs: store }, (one) =>
      runLoad<FanoutResult>({
        scenario: 'fanout',
        url: one.url,
        dialect: 'y-websocket',
        serverPid: one.pid,
        ...profile.fanout,
        docPrefix: 'one-',
      }),
    )
    options.log('cluster: two relays over PostgreSQL and Redis')
    const twoRelays = await withServer('concord', options, { scenario: 'cluster: relay A', relayArgs: cluster }, (a) =>
      withServer('concord', options, { scenario: 'cluster: relay B', relayArgs: cluster }, (b) =>
        runLoad<FanoutResult>({
          scenario: 'fanout',
          url: a.url,
          dialect: 'y-websocket',
          serverPid: a.pid,
          more: [{ url: b.url, serverPid: b.pid }],
          ...profile.fanout,
          docPrefix: 'two-',
        }),
      ),
    )
    return { oneRelay, twoRelays }
  } finally {
    await redis.stop()
    await postgres.stop()
  }
}
