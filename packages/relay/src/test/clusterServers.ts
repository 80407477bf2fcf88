/**
 * Owns the database servers of a cluster test file: one real PostgreSQL and
 * one or two real redis-servers (servers.ts), started before the file's
 * first test and stopped after its last. A file whose tests restart or halt
 * a server keeps its own set-up, so that what it does to them stays in sight.
 */
import { afterAll, beforeAll } from 'vitest'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from './servers.js'

export interface ClusterServers {
  readonly postgres: () => PostgresServer
  /** redis-server `index` (0 unless the file asked for two, one per relay). */
  readonly redis: (index?: number) => RedisServer
}

/** Call at the top of a test file; the accessors answer once the file's tests run. */
export const useClusterServers = ({ redis: redisCount = 1 }: { readonly redis?: 1 | 2 } = {}): ClusterServers => {
  let postgres: PostgresServer | undefined
  let redis: RedisServer[] = []

  beforeAll(async () => {
    const [startedPostgres, ...startedRedis] = await Promise.all([
      startPostgres(),
      ...Array.from({ length: redisCount }, () => startRedis()),
    ])
    postgres = startedPostgres
    redis = startedRedis as RedisServer[]
  }, 60_000)

  afterAll(async () => {
    await Promise.all([postgres?.stop(), ...redis.map((server) => server.stop())])
  })

  return {
    postgres: () => {
      if (!postgres) throw new Error('PostgreSQL is not running: use the servers inside a test')
      return postgres
    },
    redis: (index = 0) => {
      const server = redis[index]
      if (!server) throw new Error(`redis-server ${index} is not running: use the servers inside a test`)
      return server
    },
  }
}
