/**
 * Owns the table of the service's settings: for each, its key (the flag and
 * the config file's key), its environment variable, its type and range, its
 * default, whether it is a secret, its help, and where its value goes in the
 * `Config`. The command-line parser, the config file's keys, the resolution
 * (flag > variable > file > default), the `--help` text and the README's
 * table are all read from here (config.ts, settingsHelp.ts): adding a setting
 * is adding one entry, and its value then appears in `Config` under `field`.
 */
import { historyDefaults, relayDefaults, retentionDefaults } from '@concord/relay'
import { defaultRetentionText, retentionProblem } from './historySettings.js'

/** How a setting's value is written and checked. */
export type SettingKind =
  /** A whole number from `min` to `max`. */
  | 'integer'
  | 'string'
  /** A string from `choices`. */
  | 'choice'
  /** A file or folder: relative to the working directory, or, in a config file, to the file. */
  | 'path'
  /** The flag turns the default over: `--<key>` when it is false, `--no-<key>` when it is true. */
  | 'boolean'
  /** A repeated flag (`listFlag`), a comma-separated variable, an array in a config file. */
  | 'list'

export interface SettingSpec {
  /** The flag without its dashes and the config file's key (lists: the file's key; the flag is `listFlag`). */
  readonly key: string
  readonly variable: `CONCORD_${string}`
  readonly kind: SettingKind
  /** One sentence for `--help` and the README; backticks mark code. */
  readonly help: string
  /** What the flag takes, as `--help` shows it: `<n>`, `<file>`, ... */
  readonly placeholder?: string
  readonly default?: number | string | boolean | readonly string[]
  /** How the default is shown when its value alone would not say it (`SQLite in --data`, `16 MiB`). */
  readonly defaultText?: string
  readonly min?: number
  readonly max?: number
  readonly choices?: readonly string[]
  readonly listFlag?: string
  /** A secret: never printed in an error, and also given as a file that holds it (`fileKey`, `fileVariable`). */
  readonly secret?: { readonly fileKey: string; readonly fileVariable: `CONCORD_${string}`; readonly fileHelp: string }
  /** The error for a value of the right type that still cannot be right; undefined when it is fine. */
  readonly check?: (value: string) => string | undefined
  /** Where the value goes in `Config` (in `Config[group]` with a group); none: config.ts derives it with others. */
  readonly field?: string
  /** A group of settings that the service reads together: `limits`, `webhooks`, ... */
  readonly group?: string
  /** False for `--config` itself, which a config file cannot hold. */
  readonly inFile?: false
}

const MiB = 1024 * 1024
/** `n` bytes as people read them: `16 MiB` for a whole number of MiB. */
const bytes = (n: number): string => (n % MiB === 0 ? `${n / MiB} MiB` : String(n))
const unlimited = Number.MAX_SAFE_INTEGER
const fromFile = '... or read it from this file, so it is not in `ps` output'

export const settings = [
  {
    key: 'port',
    variable: 'CONCORD_PORT',
    kind: 'integer',
    min: 0,
    max: 65535,
    default: 8787,
    field: 'port',
    help: 'port to listen on; `0` picks a free one',
  },
  {
    key: 'host',
    variable: 'CONCORD_HOST',
    kind: 'string',
    placeholder: '<addr>',
    default: '127.0.0.1',
    field: 'host',
    help: 'address to bind',
  },
  {
    key: 'data',
    variable: 'CONCORD_DATA',
    kind: 'path',
    placeholder: '<dir>',
    default: '.concord-data',
    defaultText: '`./.concord-data`',
    field: 'dataDir',
    help: 'folder of the SQLite store; holds `concord.sqlite`',
  },
  {
    key: 'address-file',
    variable: 'CONCORD_ADDRESS_FILE',
    kind: 'path',
    field: 'addressFile',
    help: 'the running relay writes the address it listens on here, for `concord-relay healthcheck`',
  },
  {
    key: 'store',
    variable: 'CONCORD_STORE',
    kind: 'string',
    placeholder: '<url>',
    defaultText: 'SQLite in --data',
    secret: { fileKey: 'store-url-file', fileVariable: 'CONCORD_STORE_URL_FILE', fileHelp: fromFile },
    check: (url) =>
      /^postgres(ql)?:\/\/./.test(url)
        ? undefined
        : '--store must be a postgres:// URL (the default store is SQLite, in --data)',
    field: 'storeUrl',
    help: '`postgres://user:password@host:port/db`: store documents in PostgreSQL (shared by the relays of a cluster)',
  },
  {
    key: 'redis',
    variable: 'CONCORD_REDIS',
    kind: 'string',
    placeholder: '<url>',
    defaultText: 'none (one relay)',
    secret: { fileKey: 'redis-url-file', fileVariable: 'CONCORD_REDIS_URL_FILE', fileHelp: fromFile },
    check: (url) => (/^rediss?:\/\/./.test(url) ? undefined : '--redis must be a redis:// or rediss:// URL'),
    field: 'redisUrl',
    help: '`redis://[:password@]host:port[/db]` or `rediss://`: cluster mode, the relays that share --store fan updates and presence out through Redis',
  },
  {
    key: 'cluster-heartbeat-ms',
    variable: 'CONCORD_CLUSTER_HEARTBEAT_MS',
    kind: 'integer',
    min: 100,
    max: 600_000,
    default: 5000,
    field: 'clusterHeartbeatMs',
    help: "cluster mode: how often a relay renews its heartbeat; a relay silent for 3x this is gone, its clients' presence removed everywhere",
  },
  {
    key: 'max-payload',
    variable: 'CONCORD_MAX_PAYLOAD',
    kind: 'integer',
    min: 1024,
    max: 2 ** 31 - 1,
    default: relayDefaults.maxPayload,
    defaultText: bytes(relayDefaults.maxPayload),
    field: 'maxPayload',
    help: 'the largest frame accepted, in bytes; a larger one closes its connection with 1009',
  },
  {
    key: 'log-level',
    variable: 'CONCORD_LOG_LEVEL',
    kind: 'choice',
    placeholder: '<l>',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    field: 'logLevel',
    help: '`debug`, `info`, `warn`, `error` or `silent`',
  },
  {
    key: 'readyz-details',
    variable: 'CONCORD_READYZ_DETAILS',
    kind: 'boolean',
    default: false,
    defaultText: 'names only',
    field: 'readyzDetails',
    help: "show each failing check's error in `/readyz` (it is always logged)",
  },
  {
    key: 'jwt-secret',
    variable: 'CONCORD_JWT_SECRET',
    kind: 'string',
    placeholder: '<s>',
    defaultText: 'none (open relay)',
    secret: { fileKey: 'jwt-secret-file', fileVariable: 'CONCORD_JWT_SECRET_FILE', fileHelp: fromFile },
    // HS256 with a short secret is guessable offline from any token.
    check: (secret) => (secret.length < 32 ? '--jwt-secret must be at least 32 characters long' : undefined),
    help: 'require JWTs signed with this HMAC secret (32+ characters)',
  },
  {
    key: 'jwt-public-key',
    variable: 'CONCORD_JWT_PUBLIC_KEY_FILE',
    kind: 'path',
    help: '... or with this public key (PEM)',
  },
  {
    key: 'jwt-algorithm',
    variable: 'CONCORD_JWT_ALGORITHM',
    kind: 'string',
    placeholder: '<a>',
    defaultText: '`HS256` / `RS256`',
    help: 'the one algorithm accepted: `HS256`, `HS384` or `HS512` for a secret, `RS256`, `ES256` or `EdDSA` for a key',
  },
  {
    key: 'jwt-issuer',
    variable: 'CONCORD_JWT_ISSUER',
    kind: 'string',
    placeholder: '<s>',
    defaultText: 'not checked',
    help: 'the `iss` a token must have',
  },
  {
    key: 'jwt-audience',
    variable: 'CONCORD_JWT_AUDIENCE',
    kind: 'string',
    placeholder: '<s>',
    defaultText: 'not checked',
    help: 'the `aud` a token must have (or hold, in a list)',
  },
  {
    key: 'jwt-clock-tolerance',
    variable: 'CONCORD_JWT_CLOCK_TOLERANCE',
    kind: 'integer',
    placeholder: '<s>',
    min: 0,
    max: 3600,
    defaultText: '0',
    help: 'seconds of leeway on `exp` and `nbf`',
  },
  {
    key: 'query-tokens',
    variable: 'CONCORD_QUERY_TOKENS',
    kind: 'boolean',
    default: true,
    defaultText: 'tokens accepted',
    field: 'queryTokens',
    help: 'refuse `?token=` in y-websocket mode',
  },
  {
    key: 'api-key',
    variable: 'CONCORD_API_KEY',
    kind: 'string',
    placeholder: '<s>',
    secret: { fileKey: 'api-key-file', fileVariable: 'CONCORD_API_KEY_FILE', fileHelp: fromFile },
    // Sent as `Authorization: Bearer <key>`: guessable keys and keys a header cannot carry are refused.
    check: (key) =>
      /^[\x21-\x7e]{32,}$/.test(key) ? undefined : '--api-key must be at least 32 printable characters without spaces',
    field: 'apiKey',
    help: 'a service key (32+ characters) with every right in the HTTP API (`/v1`); masked in logs',
  },
  {
    key: 'webhook-urls',
    listFlag: 'webhook-url',
    variable: 'CONCORD_WEBHOOK_URLS',
    kind: 'list',
    placeholder: '<url>',
    defaultText: 'none',
    help: 'POST signed webhook events to this http(s) URL (see [`docs/webhooks.md`](docs/webhooks.md))',
  },
  {
    key: 'webhook-secret',
    variable: 'CONCORD_WEBHOOK_SECRET',
    kind: 'string',
    placeholder: '<s>',
    secret: { fileKey: 'webhook-secret-file', fileVariable: 'CONCORD_WEBHOOK_SECRET_FILE', fileHelp: fromFile },
    help: 'the webhook signing secret (32+ characters), required with `--webhook-url`; masked in logs',
  },
  {
    key: 'webhook-debounce-ms',
    variable: 'CONCORD_WEBHOOK_DEBOUNCE_MS',
    kind: 'integer',
    min: 0,
    max: 3_600_000,
    defaultText: '1000',
    help: "a document's `document.changed` waits until it was quiet this long (at most 10x this)",
  },
  {
    key: 'echo-committed',
    variable: 'CONCORD_ECHO_COMMITTED',
    kind: 'boolean',
    default: true,
    defaultText: 'echo on',
    field: 'echoCommitted',
    help: 'in y-websocket mode, do not send each update back to its sender once it is stored (stock clients then never show an edit as saved)',
  },
  {
    key: 'rate-messages',
    variable: 'CONCORD_RATE_MESSAGES',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: relayDefaults.rateLimit.messagesPerSecond,
    group: 'limits',
    field: 'messagesPerSecond',
    help: `messages per second per connection (burst ${relayDefaults.rateLimit.messageBurst}); over it the relay stops reading from that socket until the budget refills`,
  },
  {
    key: 'rate-bytes',
    variable: 'CONCORD_RATE_BYTES',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: relayDefaults.rateLimit.bytesPerSecond,
    defaultText: bytes(relayDefaults.rateLimit.bytesPerSecond),
    group: 'limits',
    field: 'bytesPerSecond',
    help: 'bytes per second per connection (burst: the max payload)',
  },
  {
    key: 'max-connections-per-ip',
    variable: 'CONCORD_MAX_CONNECTIONS_PER_IP',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: relayDefaults.maxConnectionsPerIp,
    group: 'limits',
    field: 'maxConnectionsPerIp',
    help: 'counted from when a socket is accepted, before its request; more get HTTP 429',
  },
  {
    key: 'headers-timeout-ms',
    variable: 'CONCORD_HEADERS_TIMEOUT_MS',
    kind: 'integer',
    min: 100,
    max: 600_000,
    default: relayDefaults.headersTimeoutMs,
    group: 'limits',
    field: 'headersTimeoutMs',
    help: 'a socket that has not sent its whole request head by then is closed',
  },
  {
    key: 'max-sockets',
    variable: 'CONCORD_MAX_SOCKETS',
    kind: 'integer',
    min: 1,
    max: unlimited,
    defaultText: 'below `ulimit -n`',
    group: 'limits',
    field: 'maxSockets',
    help: 'the most sockets (HTTP and WebSocket) held at once; more are closed when accepted',
  },
  {
    key: 'max-documents-per-connection',
    variable: 'CONCORD_MAX_DOCUMENTS_PER_CONNECTION',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: relayDefaults.maxDocumentsPerConnection,
    group: 'limits',
    field: 'maxDocumentsPerConnection',
    help: 'documents open at once on one native connection; a further `open` gets an error frame (4429)',
  },
  {
    key: 'max-buffered-bytes',
    variable: 'CONCORD_MAX_BUFFERED_BYTES',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: relayDefaults.maxBufferedBytes,
    defaultText: bytes(relayDefaults.maxBufferedBytes),
    group: 'limits',
    field: 'maxBufferedBytes',
    help: 'unsent bytes before a peer that does not read is dropped',
  },
  {
    key: 'allowed-origins',
    listFlag: 'allowed-origin',
    variable: 'CONCORD_ALLOWED_ORIGINS',
    kind: 'list',
    placeholder: '<o>',
    defaultText: 'any',
    group: 'limits',
    field: 'allowedOrigins',
    help: 'a browser Origin allowed to connect; browsers from other Origins get HTTP 403',
  },
  {
    key: 'trusted-proxies',
    listFlag: 'trusted-proxy',
    variable: 'CONCORD_TRUSTED_PROXIES',
    kind: 'list',
    placeholder: '<addr>',
    default: [],
    defaultText: 'none',
    group: 'limits',
    field: 'trustedProxies',
    help: "a reverse proxy's address whose `X-Forwarded-For` names the client's address (for the per-address limit and the logs)",
  },
  {
    key: 'history',
    variable: 'CONCORD_HISTORY',
    kind: 'boolean',
    default: true,
    defaultText: 'history on',
    group: 'history',
    field: 'enabled',
    help: 'keep no versions of documents (see docs/history.md); named versions and restores then get `historyUnavailable`',
  },
  {
    key: 'history-quiet-ms',
    variable: 'CONCORD_HISTORY_QUIET_MS',
    kind: 'integer',
    min: 100,
    max: unlimited,
    default: historyDefaults.quietMs,
    group: 'history',
    field: 'quietMs',
    help: 'an automatic version is taken once an edited document has been quiet this long',
  },
  {
    key: 'history-max-interval-ms',
    variable: 'CONCORD_HISTORY_MAX_INTERVAL_MS',
    kind: 'integer',
    min: 100,
    max: unlimited,
    default: historyDefaults.maxIntervalMs,
    group: 'history',
    field: 'maxIntervalMs',
    help: 'and at the latest this long after the first edit since the last version, while it is edited without pause',
  },
  {
    key: 'history-retention',
    variable: 'CONCORD_HISTORY_RETENTION',
    kind: 'string',
    placeholder: '<tiers>',
    default: defaultRetentionText,
    check: retentionProblem,
    group: 'history',
    field: 'retention',
    help: 'automatic versions kept: `<age>:<spacing>` tiers, youngest first (see docs/history.md), or `keep-all`; named ones are always kept',
  },
  {
    key: 'history-thin-interval-ms',
    variable: 'CONCORD_HISTORY_THIN_INTERVAL_MS',
    kind: 'integer',
    min: 1_000,
    max: unlimited,
    default: retentionDefaults.intervalMs,
    group: 'history',
    field: 'thinIntervalMs',
    help: 'time between two background passes that delete the automatic versions retention drops',
  },
  {
    key: 'history-thin-max-documents',
    variable: 'CONCORD_HISTORY_THIN_MAX_DOCUMENTS',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: retentionDefaults.maxDocumentsPerPass,
    group: 'history',
    field: 'thinMaxDocuments',
    help: 'documents one thinning pass looks at; the next pass goes on from there',
  },
  {
    key: 'history-thin-max-deletions',
    variable: 'CONCORD_HISTORY_THIN_MAX_DELETIONS',
    kind: 'integer',
    min: 1,
    max: unlimited,
    default: retentionDefaults.maxDeletionsPerPass,
    group: 'history',
    field: 'thinMaxDeletions',
    help: 'versions one thinning pass deletes',
  },
  {
    key: 'config',
    variable: 'CONCORD_CONFIG',
    kind: 'path',
    inFile: false,
    help: 'read settings from this JSON file, keyed by the flag names; flags and variables win over it',
  },
] as const satisfies readonly SettingSpec[]

export type Setting = (typeof settings)[number]
export type SettingKey = Setting['key']

/** The flag that gives `setting`, without its dashes. */
export const flagOf = (setting: SettingSpec): string =>
  setting.kind === 'boolean' && setting.default === true
    ? `no-${setting.key}`
    : setting.kind === 'list'
      ? (setting.listFlag ?? setting.key)
      : setting.key

/** Whether `key` names a secret's value in a config file (its file form is a path, shown in errors). */
export const isSecretKey = (key: string): boolean =>
  (settings as readonly SettingSpec[]).some((setting) => setting.key === key && setting.secret !== undefined)
