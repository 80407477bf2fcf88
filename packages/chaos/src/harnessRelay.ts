/**
 * Owns how the harness starts the relay under test: the built concord-relay
 * on SQLite in a data folder (or where the extra flags say, e.g. `--store
 * postgres://...`), or its variant with a fault-injecting DocStore
 * (chaosRelayProcess.ts) whose faults are armed over IPC (`send`). Both run
 * as a `RelayProcess` of @concord/relay-service/testing, on an ephemeral
 * loopback port; their warnings and errors go to `relay.log` beside the store.
 */
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RelayProcess } from '@concord/relay-service/testing'

/** The relay with a fault-injecting DocStore (`--storage`, and the relay sabotage). */
const chaosRelayScript = fileURLToPath(new URL('./chaosRelayProcess.js', import.meta.url))

export interface RelayVariant {
  /** Run `chaosRelayProcess.js` instead of concord-relay; `acksEarly` is the sabotage. */
  readonly faultyStore: boolean
  readonly acksEarly?: boolean
}

/** Starts the relay with its store in `dataDir`; resolves once it listens. */
export const startHarnessRelay = async (
  dataDir: string,
  extraArgs: readonly string[] = [],
  variant: RelayVariant = { faultyStore: false },
): Promise<RelayProcess> => {
  // For the post-mortem of a failed seed.
  const log = createWriteStream(join(dataDir, 'relay.log'), { flags: 'a' })
  const onStderr = (chunk: Buffer): void => void log.write(chunk)
  const relay = variant.faultyStore
    ? RelayProcess.start({
        script: chaosRelayScript,
        args: [dataDir, ...(variant.acksEarly ? ['acks-early'] : [])],
        ipc: true,
        onStderr,
      })
    : RelayProcess.start({
        // A generous rate limit: the harness writes faster than a person, and a throttled link is not a fault under test.
        args: ['--port', '0', '--data', dataDir, '--log-level', 'warn', '--rate-messages', '100000', ...extraArgs],
        onStderr,
      })
  try {
    const started = await relay
    void started.exited.then(() => log.end())
    return started
  } catch (error) {
    log.end()
    throw error
  }
}
