/**
 * The entry point `@concord/relay/redis`: the fan-out between the relays of
 * a cluster over Redis pub/sub. It needs `ioredis`, an optional peer
 * dependency of @concord/relay; apart from the main entry so that a relay on
 * its own never loads the driver.
 */
export { RedisFanout, type RedisFanoutOptions } from './redisFanout.js'
