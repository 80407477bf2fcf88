/**
 * Owns the service's configuration: flags first, then CONCORD_* environment
 * variables, then defaults. Every value is checked here, so the rest of the
 * service can trust it.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { relayDefaults } from '@concord/relay'

export interface Config {
  readonly port: number
  readonly host: string
  /** Absolute path of the folder that holds the SQLite file. */
  readonly dataDir: string
  readonly maxPayload: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
}

export const usage = `Usage: concord-relay [options]

  --port <n>          port to listen on (0 picks a free one)    [CONCORD_PORT, default 8787]
  --host <addr>       address to bind                           [CONCORD_HOST, default 127.0.0.1]
  --data <dir>        folder for the SQLite store               [CONCORD_DATA, default ./.concord-data]
  --max-payload <n>   largest frame accepted, in bytes          [CONCORD_MAX_PAYLOAD, default ${relayDefaults.maxPayload}]
  --log-level <l>     debug, info, warn, error or silent        [CONCORD_LOG_LEVEL, default info]
  --help              print this and exit`

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'invalidConfig'
}

const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const

const integer = (name: string, value: string, min: number, max: number): number => {
  const number = Number(value)
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`)
  }
  return number
}

/** The configuration, or undefined when `--help` was asked for. Throws a ConfigError for anything invalid. */
export const parseConfig = (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Config | undefined => {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        'max-payload': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }))
  } catch (error) {
    throw new ConfigError((error as Error).message)
  }
  if (values.help) return undefined
  const logLevel = values['log-level'] ?? env.CONCORD_LOG_LEVEL ?? 'info'
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${logLevels.join(', ')}, not "${logLevel}"`)
  }
  return {
    port: integer('--port', values.port ?? env.CONCORD_PORT ?? '8787', 0, 65535),
    host: values.host ?? env.CONCORD_HOST ?? '127.0.0.1',
    dataDir: resolve(cwd, values.data ?? env.CONCORD_DATA ?? '.concord-data'),
    maxPayload: integer(
      '--max-payload',
      values['max-payload'] ?? env.CONCORD_MAX_PAYLOAD ?? String(relayDefaults.maxPayload),
      1024,
      2 ** 31 - 1,
    ),
    logLevel: logLevel as Config['logLevel'],
  }
}
