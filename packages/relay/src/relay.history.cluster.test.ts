/**
 * Version history in cluster mode: two relays on one real PostgreSQL and one real Redis (started
 * by the test on loopback ports) that take an automatic version of the same content store it once.
 */
import { expect, it } from 'vitest'
import type { Logger } from './logger.js'
import { useClusterRelays } from './test/clusterRelays.js'
import { waitFor } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'

const { postgres, redis } = useClusterServers()

const cluster = useClusterRelays(() => postgres().url)

/** The automatic versions a relay took, as it logged them: whether the store kept each. */
const versionLog = () => {
  const taken: boolean[] = []
  const logger: Logger = {
    debug: (fields: object, message: string) => {
      if (message === 'automatic version taken') taken.push((fields as { stored: boolean }).stored)
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  }
  return { taken, logger }
}

it('stores one version when two relays take an automatic version of the same content', async () => {
  const logs = [versionLog(), versionLog()]
  const [a, b] = await Promise.all(
    // Quiet long enough for each relay to hear the other's write before its version is taken.
    logs.map(({ logger }) =>
      cluster.startClusterRelay(redis().url, { logger, history: { quietMs: 1_500, maxIntervalMs: 60_000 } }),
    ),
  )
  const name = `history-${Date.now()}`
  const [onA, onB] = await Promise.all([cluster.connect(a!), cluster.connect(b!)])
  const docA = onA.open(name).doc
  const docB = onB.open(name).doc
  await Promise.all([onA.whenSynced(name), onB.whenSynced(name)])
  docA.getText('t').insert(0, 'from a ')
  await onA.whenAcked(name)
  docB.getText('t').insert(0, 'from b ')
  await onB.whenAcked(name)
  await waitFor(
    () => docA.getText('t').toString() === docB.getText('t').toString() && docA.getText('t').length === 14,
    'both clients to converge',
  )
  await waitFor(() => logs.every(({ taken }) => taken.length === 1), 'both relays to take a version', 15_000)
  expect(logs.flatMap(({ taken }) => taken).sort()).toEqual([false, true])
  const versions = await a!.relay.listVersions(name)
  expect(versions).toHaveLength(1)
  expect(await b!.relay.listVersions(name)).toEqual(versions)
}, 30_000)
