/**
 * The entry point `@concord/relay/postgres`: the PostgreSQL DocStore, shared
 * by the relays of a cluster. It needs `pg`, an optional peer dependency of
 * @concord/relay; apart from the main entry so that a relay on another store
 * never loads the driver.
 */
export { PostgresDocStore, type PostgresDocStoreOptions } from './postgresDocStore.js'
