/**
 * Owns the service's configuration: flags first, then CONCORD_* environment
 * variables, then a JSON config file (--config or CONCORD_CONFIG), then
 * defaults. Every value is checked here, so the rest of the service can
 * trust it.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { relayDefaults } from '@concord/relay'
import { ConfigError } from './configError.js'
import type { JwtKey } from './jwtAuth.js'
import { secretForms, secretOf, shownValue, type SecretSetting } from './secretSettings.js'

export interface Config {
  readonly port: number
  readonly host: string
  /** Absolute path of the folder that holds the SQLite file. */
  readonly dataDir: string
  /** Where the running relay writes the address it listens on, for `concord-relay healthcheck`. */
  readonly addressFile: string | undefined
  /** A postgres:// URL: store documents in PostgreSQL instead of SQLite (required for cluster mode). */
  readonly storeUrl: string | undefined
  /** A redis:// URL: cluster mode, the relays that share the store fan updates and presence out through Redis. */
  readonly redisUrl: string | undefined
  /** Cluster mode: how often this relay renews its heartbeat in Redis; it expires after three times this. */
  readonly clusterHeartbeatMs: number
  readonly maxPayload: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Show each failing check's error in /readyz; without it, /readyz names the failing checks only. */
  readonly readyzDetails: boolean
  /** The key JWTs must be signed with; undefined for an open relay (anyone may read and write). */
  readonly jwt: JwtKey | undefined
  /** Accept `?token=` in y-websocket mode. */
  readonly queryTokens: boolean
  /** A bearer token the HTTP API accepts with every right on every document, for backends. */
  readonly apiKey: string | undefined
  /** In y-websocket mode, send each update back to its sender once it is durable (stock clients' "saved"). */
  readonly echoCommitted: boolean
  /** Where webhook events go, signed with the secret (see docs/webhooks.md); undefined: no webhooks. */
  readonly webhooks:
    { readonly urls: readonly string[]; readonly secret: string; readonly debounceMs: number } | undefined
  readonly limits: {
    readonly messagesPerSecond: number
    readonly bytesPerSecond: number
    readonly maxConnectionsPerIp: number
    /** Close a socket that has not sent a whole request head this long after it was accepted. */
    readonly headersTimeoutMs: number
    /** The most sockets the server holds; undefined: below the file-descriptor limit. */
    readonly maxSockets: number | undefined
    readonly maxDocumentsPerConnection: number
    readonly maxBufferedBytes: number
    /** Browser Origins allowed to connect; undefined allows every Origin. */
    readonly allowedOrigins: readonly string[] | undefined
    /** Reverse proxies whose X-Forwarded-For names the client's address. */
    readonly trustedProxies: readonly string[]
  }
}

export const usage = `Usage: concord-relay [options]

  --port <n>          port to listen on (0 picks a free one)    [CONCORD_PORT, default 8787]
  --host <addr>       address to bind                           [CONCORD_HOST, default 127.0.0.1]
  --data <dir>        folder for the SQLite store               [CONCORD_DATA, default ./.concord-data]
  --address-file <file>  write the address the relay listens on here, for \`concord-relay healthcheck\`
                                                                [CONCORD_ADDRESS_FILE, default none]
  --store <url>       store documents in PostgreSQL instead: postgres://user:password@host:port/db
                                                                [CONCORD_STORE]
  --store-url-file <file>  ... or read that URL from this file  [CONCORD_STORE_URL_FILE]
  --redis <url>       cluster mode: fan out between the relays that share --store, through Redis
                      (redis://[:password@]host:port[/db] or rediss://)  [CONCORD_REDIS]
  --redis-url-file <file>  ... or read that URL from this file  [CONCORD_REDIS_URL_FILE]
  --cluster-heartbeat-ms <n>  cluster mode: heartbeat interval; a relay silent for 3x this is gone
                                                                [CONCORD_CLUSTER_HEARTBEAT_MS, default 5000]
  --max-payload <n>   largest frame accepted, in bytes          [CONCORD_MAX_PAYLOAD, default ${relayDefaults.maxPayload}]
  --log-level <l>     debug, info, warn, error or silent        [CONCORD_LOG_LEVEL, default info]
  --readyz-details    show each failing dependency's error in /readyz (default: only its name;
                      the error is always logged)              [CONCORD_READYZ_DETAILS=true]
  --jwt-secret <s>    require JWTs signed with this HMAC secret [CONCORD_JWT_SECRET]
  --jwt-secret-file <file>  ... read from this file, so it is not in \`ps\` output
                                                                [CONCORD_JWT_SECRET_FILE]
  --jwt-public-key <file>  ... or with this public key (PEM)    [CONCORD_JWT_PUBLIC_KEY_FILE]
  --jwt-algorithm <a> HS256, HS384, HS512 for a secret (default HS256);
                      RS256, ES256, EdDSA for a key (default RS256)  [CONCORD_JWT_ALGORITHM]
  --jwt-issuer <s>    require this iss claim                    [CONCORD_JWT_ISSUER]
  --jwt-audience <s>  require this aud claim                    [CONCORD_JWT_AUDIENCE]
  --jwt-clock-tolerance <s>  seconds of leeway on exp and nbf   [CONCORD_JWT_CLOCK_TOLERANCE, default 0]
  --no-query-tokens   refuse ?token= in y-websocket mode         [CONCORD_QUERY_TOKENS=false]
  --api-key <s>       a service key (32+ characters) with every right in the HTTP API (/v1)
                                                                [CONCORD_API_KEY]
  --api-key-file <file>  ... read from this file                [CONCORD_API_KEY_FILE]
  --webhook-url <url> send webhook events (document.created, .changed, .deleted) to this http(s) URL;
                      repeat for more                           [CONCORD_WEBHOOK_URLS, comma-separated]
  --webhook-secret <s>  sign them with this secret (32+ characters; required with --webhook-url)
                                                                [CONCORD_WEBHOOK_SECRET]
  --webhook-secret-file <file>  ... read from this file         [CONCORD_WEBHOOK_SECRET_FILE]
  --webhook-debounce-ms <n>  a document's document.changed waits until it has been quiet this long
                      (at most 10x this)                        [CONCORD_WEBHOOK_DEBOUNCE_MS, default 1000]
  --no-echo-committed in y-websocket mode, do not send each update back to its sender once it is
                      stored (stock clients then never show an edit as saved)  [CONCORD_ECHO_COMMITTED=false]
  --rate-messages <n> messages per second per connection        [CONCORD_RATE_MESSAGES, default ${relayDefaults.rateLimit.messagesPerSecond}]
  --rate-bytes <n>    bytes per second per connection           [CONCORD_RATE_BYTES, default ${relayDefaults.rateLimit.bytesPerSecond}]
  --max-connections-per-ip <n>  counted from when a socket is accepted, before its request
                                                                [CONCORD_MAX_CONNECTIONS_PER_IP, default ${relayDefaults.maxConnectionsPerIp}]
  --headers-timeout-ms <n>  close a socket that has not sent its request head by then
                                                                [CONCORD_HEADERS_TIMEOUT_MS, default ${relayDefaults.headersTimeoutMs}]
  --max-sockets <n>   the most sockets (HTTP and WebSocket) held at once
                                                                [CONCORD_MAX_SOCKETS, default: below \`ulimit -n\`]
  --max-documents-per-connection <n>                            [CONCORD_MAX_DOCUMENTS_PER_CONNECTION, default ${relayDefaults.maxDocumentsPerConnection}]
  --max-buffered-bytes <n>  unsent bytes before a peer that does not read is dropped
                                                                [CONCORD_MAX_BUFFERED_BYTES, default ${relayDefaults.maxBufferedBytes}]
  --allowed-origin <o>  a browser Origin allowed to connect; repeat for more
                                                                [CONCORD_ALLOWED_ORIGINS, comma-separated; default any]
  --trusted-proxy <addr>  a reverse proxy's IP address whose X-Forwarded-For is believed; repeat for more
                                                                [CONCORD_TRUSTED_PROXIES, comma-separated; default none]
  --config <file>     read settings from this JSON file         [CONCORD_CONFIG]
                      (keys are the flag names: "port", "jwt-secret", ...; "query-tokens": false,
                      "echo-committed": false,
                      "allowed-origins": [...], "trusted-proxies": [...], "webhook-urls": [...]; flags and variables win over the file)
  --help              print this and exit

  concord-relay healthcheck [--address-file <file>]  exit 0 if the relay that wrote <file> answers /healthz

A secret file holds the value alone; line breaks at its end are ignored. Give a setting or its
-file form, not both at one level (flag, variable, config file).

Without --jwt-secret or --jwt-public-key the relay is open: anyone may read and write any document.`

export { ConfigError }

const logLevels = ['debug', 'info', 'warn', 'error', 'silent'] as const

const integer = (name: string, value: string, min: number, max: number): number => {
  const number = Number(value)
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`)
  }
  return number
}

/** The settings a config file may hold, with the JSON type of each. Paths in a file are relative to the file. */
const fileKeys = {
  port: 'integer',
  host: 'string',
  data: 'path',
  'address-file': 'path',
  store: 'string',
  'store-url-file': 'path',
  redis: 'string',
  'redis-url-file': 'path',
  'cluster-heartbeat-ms': 'integer',
  'max-payload': 'integer',
  'log-level': 'string',
  'readyz-details': 'boolean',
  'jwt-secret': 'string',
  'jwt-secret-file': 'path',
  'jwt-public-key': 'path',
  'jwt-algorithm': 'string',
  'jwt-issuer': 'string',
  'jwt-audience': 'string',
  'jwt-clock-tolerance': 'integer',
  'query-tokens': 'boolean',
  'api-key': 'string',
  'api-key-file': 'path',
  'echo-committed': 'boolean',
  'webhook-urls': 'strings',
  'webhook-secret': 'string',
  'webhook-secret-file': 'path',
  'webhook-debounce-ms': 'integer',
  'rate-messages': 'integer',
  'rate-bytes': 'integer',
  'max-connections-per-ip': 'integer',
  'headers-timeout-ms': 'integer',
  'max-sockets': 'integer',
  'max-documents-per-connection': 'integer',
  'max-buffered-bytes': 'integer',
  'allowed-origins': 'strings',
  'trusted-proxies': 'strings',
} as const

type FileKey = keyof typeof fileKeys
/** A config file's settings, numbers as strings (checked with the flags' rules), paths made absolute. */
type FileSettings = {
  readonly [key in FileKey]?: key extends 'query-tokens' | 'echo-committed' | 'readyz-details'
    ? boolean
    : key extends 'allowed-origins' | 'trusted-proxies' | 'webhook-urls'
      ? string[]
      : string
}

/** ` (line L, column C)` for a JSON.parse error that gives a position; empty otherwise. */
const jsonErrorPlace = (text: string, error: unknown): string => {
  const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1]
  if (position === undefined) return ''
  const before = text.slice(0, Number(position)).split('\n')
  return ` (line ${before.length}, column ${before.at(-1)!.length + 1})`
}

/** Reads and checks a config file: a JSON object with known keys only, each of the right type. */
export const readConfigFile = (path: string): FileSettings => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    // JSON.parse quotes the text around the error, which may be a secret: say only where it is.
    throw new ConfigError(`the config file ${path} is not valid JSON${jsonErrorPlace(text, error)}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`the config file ${path} must hold a JSON object`)
  }
  const settings: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(fileKeys, key)) {
      throw new ConfigError(
        `unknown key "${key}" in the config file ${path}; known keys: ${Object.keys(fileKeys).join(', ')}`,
      )
    }
    const type = fileKeys[key as FileKey]
    const shown = shownValue(key, value)
    const wrongType = (expected: string) =>
      new ConfigError(`"${key}" in the config file ${path} must be ${expected}, not ${shown}`)
    switch (type) {
      case 'integer':
        if (typeof value !== 'number' && typeof value !== 'string') throw wrongType('a number')
        settings[key] = String(value)
        break
      case 'string':
      case 'path':
        if (typeof value !== 'string') throw wrongType('a string')
        settings[key] = type === 'path' ? resolve(dirname(path), value) : value
        break
      case 'boolean':
        if (typeof value !== 'boolean') throw wrongType('true or false')
        settings[key] = value
        break
      case 'strings':
        if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
          throw wrongType('an array of strings')
        }
        settings[key] = value
        break
    }
  }
  return settings as FileSettings
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
        'address-file': { type: 'string' },
        store: { type: 'string' },
        'store-url-file': { type: 'string' },
        redis: { type: 'string' },
        'redis-url-file': { type: 'string' },
        'cluster-heartbeat-ms': { type: 'string' },
        'max-payload': { type: 'string' },
        'log-level': { type: 'string' },
        'readyz-details': { type: 'boolean' },
        'jwt-secret': { type: 'string' },
        'jwt-secret-file': { type: 'string' },
        'jwt-public-key': { type: 'string' },
        'jwt-algorithm': { type: 'string' },
        'jwt-issuer': { type: 'string' },
        'jwt-audience': { type: 'string' },
        'jwt-clock-tolerance': { type: 'string' },
        'no-query-tokens': { type: 'boolean' },
        'api-key': { type: 'string' },
        'api-key-file': { type: 'string' },
        'no-echo-committed': { type: 'boolean' },
        'webhook-url': { type: 'string', multiple: true },
        'webhook-secret': { type: 'string' },
        'webhook-secret-file': { type: 'string' },
        'webhook-debounce-ms': { type: 'string' },
        'rate-messages': { type: 'string' },
        'rate-bytes': { type: 'string' },
        'max-connections-per-ip': { type: 'string' },
        'headers-timeout-ms': { type: 'string' },
        'max-sockets': { type: 'string' },
        'max-documents-per-connection': { type: 'string' },
        'max-buffered-bytes': { type: 'string' },
        'allowed-origin': { type: 'string', multiple: true },
        'trusted-proxy': { type: 'string', multiple: true },
        config: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }))
  } catch (error) {
    // A stray argument may be a secret given to a misspelt flag: its value is not printed.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError('unexpected argument: this command takes options only (the argument is not shown)')
    }
    throw new ConfigError((error as Error).message)
  }
  if (values.help) return undefined
  const configFile = values.config ?? env.CONCORD_CONFIG
  const file = configFile === undefined ? {} : readConfigFile(resolve(cwd, configFile))
  const logLevel = values['log-level'] ?? env.CONCORD_LOG_LEVEL ?? file['log-level'] ?? 'info'
  if (!(logLevels as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${logLevels.join(', ')}, not "${logLevel}"`)
  }
  const secret = (name: SecretSetting): string | undefined => {
    const { fileFlag, variable, fileVariable } = secretForms[name]
    return secretOf(name, [
      ['flag', values[name], values[fileFlag], cwd],
      ['variable', env[variable], env[fileVariable], cwd],
      ['config file', file[name], file[fileFlag], cwd],
    ])
  }
  const storeUrl = secret('store')
  if (storeUrl !== undefined && !/^postgres(ql)?:\/\/./.test(storeUrl)) {
    throw new ConfigError('--store must be a postgres:// URL (the default store is SQLite, in --data)')
  }
  const redisUrl = secret('redis')
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) {
    throw new ConfigError('--redis must be a redis:// or rediss:// URL')
  }
  if (redisUrl !== undefined && storeUrl === undefined) {
    // Each relay would resync from its own SQLite file, which the others never wrote to.
    throw new ConfigError('--redis (cluster mode) needs a shared store: give --store postgres://...')
  }
  return {
    port: integer('--port', values.port ?? env.CONCORD_PORT ?? file.port ?? '8787', 0, 65535),
    host: values.host ?? env.CONCORD_HOST ?? file.host ?? '127.0.0.1',
    dataDir: resolve(cwd, values.data ?? env.CONCORD_DATA ?? file.data ?? '.concord-data'),
    addressFile: optionalPath(cwd, values['address-file'] ?? env.CONCORD_ADDRESS_FILE ?? file['address-file']),
    storeUrl,
    redisUrl,
    clusterHeartbeatMs: integer(
      '--cluster-heartbeat-ms',
      values['cluster-heartbeat-ms'] ?? env.CONCORD_CLUSTER_HEARTBEAT_MS ?? file['cluster-heartbeat-ms'] ?? '5000',
      100,
      600_000,
    ),
    maxPayload: integer(
      '--max-payload',
      values['max-payload'] ?? env.CONCORD_MAX_PAYLOAD ?? file['max-payload'] ?? String(relayDefaults.maxPayload),
      1024,
      2 ** 31 - 1,
    ),
    logLevel: logLevel as Config['logLevel'],
    readyzDetails:
      values['readyz-details'] ??
      (env.CONCORD_READYZ_DETAILS === undefined ? undefined : env.CONCORD_READYZ_DETAILS === 'true') ??
      file['readyz-details'] ??
      false,
    jwt: withClaimChecks(
      jwtKeyOf(
        secret('jwt-secret'),
        values['jwt-public-key'] ?? env.CONCORD_JWT_PUBLIC_KEY_FILE ?? file['jwt-public-key'],
        values['jwt-algorithm'] ?? env.CONCORD_JWT_ALGORITHM ?? file['jwt-algorithm'],
        cwd,
      ),
      {
        'jwt-issuer': values['jwt-issuer'] ?? env.CONCORD_JWT_ISSUER ?? file['jwt-issuer'],
        'jwt-audience': values['jwt-audience'] ?? env.CONCORD_JWT_AUDIENCE ?? file['jwt-audience'],
        'jwt-clock-tolerance':
          values['jwt-clock-tolerance'] ?? env.CONCORD_JWT_CLOCK_TOLERANCE ?? file['jwt-clock-tolerance'],
      },
    ),
    queryTokens: !(
      values['no-query-tokens'] ??
      (env.CONCORD_QUERY_TOKENS === undefined ? undefined : env.CONCORD_QUERY_TOKENS === 'false') ??
      (file['query-tokens'] === undefined ? undefined : !file['query-tokens'])
    ),
    apiKey: apiKeyOf(secret('api-key')),
    echoCommitted: !(
      values['no-echo-committed'] ??
      (env.CONCORD_ECHO_COMMITTED === undefined ? undefined : env.CONCORD_ECHO_COMMITTED === 'false') ??
      (file['echo-committed'] === undefined ? undefined : !file['echo-committed'])
    ),
    webhooks: webhooksOf(
      values['webhook-url'] ?? commaList(env.CONCORD_WEBHOOK_URLS) ?? file['webhook-urls'] ?? [],
      secret('webhook-secret'),
      values['webhook-debounce-ms'] ?? env.CONCORD_WEBHOOK_DEBOUNCE_MS ?? file['webhook-debounce-ms'],
    ),
    limits: {
      messagesPerSecond: positive(
        '--rate-messages',
        values['rate-messages'] ?? env.CONCORD_RATE_MESSAGES ?? file['rate-messages'],
        relayDefaults.rateLimit.messagesPerSecond,
      ),
      bytesPerSecond: positive(
        '--rate-bytes',
        values['rate-bytes'] ?? env.CONCORD_RATE_BYTES ?? file['rate-bytes'],
        relayDefaults.rateLimit.bytesPerSecond,
      ),
      maxConnectionsPerIp: positive(
        '--max-connections-per-ip',
        values['max-connections-per-ip'] ?? env.CONCORD_MAX_CONNECTIONS_PER_IP ?? file['max-connections-per-ip'],
        relayDefaults.maxConnectionsPerIp,
      ),
      headersTimeoutMs: integer(
        '--headers-timeout-ms',
        values['headers-timeout-ms'] ??
          env.CONCORD_HEADERS_TIMEOUT_MS ??
          file['headers-timeout-ms'] ??
          String(relayDefaults.headersTimeoutMs),
        100,
        600_000,
      ),
      maxSockets: optionalPositive(
        '--max-sockets',
        values['max-sockets'] ?? env.CONCORD_MAX_SOCKETS ?? file['max-sockets'],
      ),
      maxDocumentsPerConnection: positive(
        '--max-documents-per-connection',
        values['max-documents-per-connection'] ??
          env.CONCORD_MAX_DOCUMENTS_PER_CONNECTION ??
          file['max-documents-per-connection'],
        relayDefaults.maxDocumentsPerConnection,
      ),
      maxBufferedBytes: positive(
        '--max-buffered-bytes',
        values['max-buffered-bytes'] ?? env.CONCORD_MAX_BUFFERED_BYTES ?? file['max-buffered-bytes'],
        relayDefaults.maxBufferedBytes,
      ),
      allowedOrigins: values['allowed-origin'] ?? commaList(env.CONCORD_ALLOWED_ORIGINS) ?? file['allowed-origins'],
      trustedProxies:
        values['trusted-proxy'] ?? commaList(env.CONCORD_TRUSTED_PROXIES) ?? file['trusted-proxies'] ?? [],
    },
  }
}

const optionalPath = (cwd: string, path: string | undefined): string | undefined =>
  path === undefined ? undefined : resolve(cwd, path)

const apiKeyOf = (key: string | undefined): string | undefined => {
  // Sent as `Authorization: Bearer <key>`: guessable keys and keys a header cannot carry are refused.
  if (key !== undefined && !/^[\x21-\x7e]{32,}$/.test(key)) {
    throw new ConfigError('--api-key must be at least 32 printable characters without spaces')
  }
  return key
}

const webhooksOf = (
  urls: readonly string[],
  secret: string | undefined,
  debounceMs: string | undefined,
): Config['webhooks'] => {
  if (urls.length === 0) {
    if (secret !== undefined) throw new ConfigError('--webhook-secret needs --webhook-url')
    if (debounceMs !== undefined) throw new ConfigError('--webhook-debounce-ms needs --webhook-url')
    return undefined
  }
  for (const url of urls) {
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    // The URL is not shown: it may carry the receiver's token.
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      throw new ConfigError('--webhook-url must be an http:// or https:// URL (the value is not shown)')
    }
  }
  // Receivers check the signature with it: one that is guessable lets anyone forge events.
  if (secret === undefined) throw new ConfigError('--webhook-url needs --webhook-secret, to sign the events')
  if (secret.length < 32) throw new ConfigError('--webhook-secret must be at least 32 characters long')
  return {
    urls,
    secret,
    debounceMs: debounceMs === undefined ? 1_000 : integer('--webhook-debounce-ms', debounceMs, 0, 3_600_000),
  }
}

const commaList = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean)

const positive = (name: string, value: string | undefined, fallback: number): number =>
  value === undefined ? fallback : integer(name, value, 1, Number.MAX_SAFE_INTEGER)

const optionalPositive = (name: string, value: string | undefined): number | undefined =>
  value === undefined ? undefined : integer(name, value, 1, Number.MAX_SAFE_INTEGER)

const secretAlgorithms = ['HS256', 'HS384', 'HS512'] as const
const keyAlgorithms = ['RS256', 'ES256', 'EdDSA'] as const

const jwtKeyOf = (
  secret: string | undefined,
  publicKeyFile: string | undefined,
  algorithm: string | undefined,
  cwd: string,
): JwtKey | undefined => {
  if (secret && publicKeyFile) throw new ConfigError('give --jwt-secret or --jwt-public-key, not both')
  if (secret !== undefined) {
    // HS256 with a short secret is guessable offline from any token.
    if (secret.length < 32) throw new ConfigError('--jwt-secret must be at least 32 characters long')
    const allowed = algorithm ?? 'HS256'
    if (!(secretAlgorithms as readonly string[]).includes(allowed)) {
      throw new ConfigError(
        `--jwt-algorithm for a secret must be one of ${secretAlgorithms.join(', ')}, not "${allowed}"`,
      )
    }
    return { secret, algorithm: allowed as (typeof secretAlgorithms)[number] }
  }
  if (publicKeyFile !== undefined) {
    const allowed = algorithm ?? 'RS256'
    if (!(keyAlgorithms as readonly string[]).includes(allowed)) {
      throw new ConfigError(
        `--jwt-algorithm for a public key must be one of ${keyAlgorithms.join(', ')}, not "${allowed}"`,
      )
    }
    let publicKeyPem: string
    try {
      publicKeyPem = readFileSync(resolve(cwd, publicKeyFile), 'utf8')
    } catch (error) {
      throw new ConfigError(`cannot read --jwt-public-key ${publicKeyFile}: ${(error as Error).message}`)
    }
    return { publicKeyPem, algorithm: allowed as (typeof keyAlgorithms)[number] }
  }
  if (algorithm !== undefined) throw new ConfigError('--jwt-algorithm needs --jwt-secret or --jwt-public-key')
  return undefined
}

/** Adds the claim checks, given by flag name, to the key; refuses them without a key. */
const withClaimChecks = (
  key: JwtKey | undefined,
  checks: Record<'jwt-issuer' | 'jwt-audience' | 'jwt-clock-tolerance', string | undefined>,
): JwtKey | undefined => {
  if (!key) {
    const given = Object.entries(checks).find(([, value]) => value !== undefined)
    if (given) throw new ConfigError(`--${given[0]} needs --jwt-secret or --jwt-public-key`)
    return undefined
  }
  const { 'jwt-issuer': issuer, 'jwt-audience': audience, 'jwt-clock-tolerance': tolerance } = checks
  return {
    ...key,
    ...(issuer !== undefined && { issuer }),
    ...(audience !== undefined && { audience }),
    ...(tolerance !== undefined && { clockToleranceSeconds: integer('--jwt-clock-tolerance', tolerance, 0, 3600) }),
  }
}
