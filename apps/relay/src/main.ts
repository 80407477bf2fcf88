#!/usr/bin/env node
/**
 * The concord-relay command: reads the configuration, starts the service,
 * prints one line with its address, and stops cleanly on SIGTERM or SIGINT
 * (every accepted update stored, connections closed with 1001, exit 0).
 */
import { pino } from 'pino'
import { removeAddressFile, writeAddressFile } from './addressFile.js'
import { ConfigError, parseConfig, usage } from './config.js'
import { describeConfig } from './configSummary.js'
import { runHealthcheck } from './healthcheck.js'
import { startService } from './service.js'

/**
 * A shutdown that takes longer than this is cut short (exit 1). Under the
 * 10 s that `docker stop` waits before it sends SIGKILL, so the relay ends
 * itself, logged, rather than being killed mid-drain.
 */
const shutdownTimeoutMs = 8_000

const main = async (): Promise<void> => {
  if (process.argv[2] === 'healthcheck') {
    process.exitCode = await runHealthcheck(process.argv.slice(3), process.env)
    return
  }
  let config
  try {
    config = parseConfig(process.argv.slice(2), process.env, process.cwd())
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`concord-relay: ${error.message}\n\n${usage}`)
    process.exit(2)
  }
  if (!config) {
    console.log(usage)
    return
  }
  // Logs are JSON lines on stderr; stdout carries only the start line.
  const logger = pino({ level: config.logLevel }, pino.destination({ dest: 2, sync: true }))
  logger.info({ config: describeConfig(config) }, 'configuration')
  let service
  try {
    // CONCORD_STATIC_DIR serves another app's build instead of the demo's (pnpm start:react: apps/notes-react/dist).
    const staticDir = process.env.CONCORD_STATIC_DIR
    service = await startService(config, logger, staticDir ? { staticDir } : {})
  } catch (error) {
    console.error(`concord-relay: could not start: ${(error as Error).message}`)
    process.exit(1)
  }
  const auth = config.jwt
    ? `JWT ${config.jwt.algorithm ?? ''}`.trim()
    : 'none, anyone can read and write (pass --jwt-secret or --jwt-public-key)'
  const demo = service.demoUrl ? `demo: ${service.demoUrl}; ` : ''
  const cluster = service.cluster ? `; cluster: ${service.cluster.redis} as relay ${service.cluster.relayId}` : ''
  const { addressFile } = config
  if (addressFile) writeAddressFile(addressFile, service.address)
  console.log(`Concord relay listening on ${service.url} (${demo}store: ${service.storePath}${cluster}; auth: ${auth})`)

  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    setTimeout(() => {
      logger.error({}, `shutdown took longer than ${shutdownTimeoutMs} ms; exiting`)
      process.exit(1)
    }, shutdownTimeoutMs).unref()
    if (addressFile) removeAddressFile(addressFile)
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

await main()
