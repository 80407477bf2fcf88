/**
 * Owns what a document's sync status is, as one function of three facts, so
 * no combination of flags can disagree with another:
 *
 *   offline     no connection to the relay, and not trying right now
 *   connecting  a connection attempt is under way
 *   syncing     connected, and either the relay's state has not arrived yet
 *               or some local update is not yet acknowledged as durable
 *   synced      connected, the relay's state arrived, nothing is pending
 */
export type SyncStatus = 'offline' | 'connecting' | 'syncing' | 'synced'

export type ConnectionStatus = 'offline' | 'connecting' | 'open'

export interface SyncFacts {
  readonly connection: ConnectionStatus
  /** The relay's sync step 2 arrived on the current connection. */
  readonly relayStateReceived: boolean
  /** Local updates not yet acknowledged as durable by the relay. */
  readonly pending: number
}

export const syncStatusOf = ({ connection, relayStateReceived, pending }: SyncFacts): SyncStatus => {
  if (connection !== 'open') return connection
  return relayStateReceived && pending === 0 ? 'synced' : 'syncing'
}
