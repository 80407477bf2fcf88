/**
 * The entry point `@concord/relay/sqlite`: the SQLite DocStore, the default
 * for one relay. It needs `better-sqlite3`, an optional peer dependency of
 * @concord/relay; apart from the main entry so that a relay on another store
 * never loads the driver.
 */
export { SqliteDocStore, type SqliteDocStoreOptions } from './sqliteDocStore.js'
