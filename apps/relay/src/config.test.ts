import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from './config.js'
import { maskUrlCredentials } from './configSummary.js'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, '/srv')
const secret = 'x'.repeat(32)

describe('parseConfig', () => {
  it('has defaults a newcomer can run with: an open relay on loopback', () => {
    expect(parse([])).toEqual({
      port: 8787,
      host: '127.0.0.1',
      dataDir: '/srv/.concord-data',
      storeUrl: undefined,
      redisUrl: undefined,
      clusterHeartbeatMs: 5000,
      maxPayload: 16 * 1024 * 1024,
      logLevel: 'info',
      readyzDetails: false,
      jwt: undefined,
      queryTokens: true,
      echoCommitted: true,
      limits: {
        messagesPerSecond: 200,
        bytesPerSecond: 8 * 1024 * 1024,
        maxConnectionsPerIp: 256,
        headersTimeoutMs: 5000,
        maxSockets: undefined,
        maxDocumentsPerConnection: 256,
        maxBufferedBytes: 32 * 1024 * 1024,
        allowedOrigins: undefined,
        trustedProxies: [],
      },
      history: {
        enabled: true,
        quietMs: 60_000,
        maxIntervalMs: 600_000,
        retention: '1d:1h,30d:1d',
        thinIntervalMs: 600_000,
        thinMaxDocuments: 100,
        thinMaxDeletions: 1000,
      },
    })
  })

  it('takes the history settings as flags, variables or the config file, and refuses bad retention tiers', async () => {
    const historyOf = (argv: string[], env: NodeJS.ProcessEnv = {}) => parse(argv, env)?.history
    expect(historyOf(['--no-history'])?.enabled).toBe(false)
    expect(historyOf([], { CONCORD_HISTORY: 'false' })?.enabled).toBe(false)
    expect(
      historyOf(
        [
          '--history-quiet-ms',
          '5000',
          '--history-max-interval-ms=120000',
          '--history-retention',
          '2h:10m,7d:1d',
          '--history-thin-interval-ms',
          '30000',
          '--history-thin-max-documents',
          '10',
        ],
        { CONCORD_HISTORY_THIN_MAX_DELETIONS: '50', CONCORD_HISTORY_QUIET_MS: '9' },
      ),
    ).toEqual({
      enabled: true,
      quietMs: 5000,
      maxIntervalMs: 120_000,
      retention: '2h:10m,7d:1d',
      thinIntervalMs: 30_000,
      thinMaxDocuments: 10,
      thinMaxDeletions: 50,
    })
    expect(historyOf(['--history-retention', 'keep-all'])?.retention).toBe('keep-all')
    const dir = await mkdtemp(join(tmpdir(), 'concord-config-'))
    try {
      const path = join(dir, 'relay.json')
      await writeFile(path, JSON.stringify({ history: false, 'history-quiet-ms': 2000, 'history-retention': '1h:1m' }))
      expect(historyOf(['--config', path])).toMatchObject({ enabled: false, quietMs: 2000, retention: '1h:1m' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    expect(() => parse(['--history-quiet-ms', '10'])).toThrow('--history-quiet-ms')
    for (const retention of ['1d', '1d:1h,1h:1d', '1d:0h', 'forever', '1d:1h,30d:1m', '1x:1h']) {
      expect(() => parse(['--history-retention', retention]), retention).toThrow('--history-retention')
    }
  })

  it('takes flags over environment variables', () => {
    const config = parse(['--port', '9000', '--jwt-secret', secret, '--no-query-tokens'], {
      CONCORD_PORT: '1',
      CONCORD_DATA: 'elsewhere',
    })
    expect(config).toMatchObject({ port: 9000, dataDir: '/srv/elsewhere', queryTokens: false })
    expect(config?.jwt).toEqual({ secret, algorithm: 'HS256' })
    expect(parse([], { CONCORD_JWT_SECRET: secret, CONCORD_QUERY_TOKENS: 'false' })).toMatchObject({
      jwt: { secret },
      queryTokens: false,
    })
  })

  it('turns the echo of committed updates off with --no-echo-committed, CONCORD_ECHO_COMMITTED or the file', async () => {
    expect(parse(['--no-echo-committed'])!.echoCommitted).toBe(false)
    expect(parse([], { CONCORD_ECHO_COMMITTED: 'false' })!.echoCommitted).toBe(false)
    expect(parse([], { CONCORD_ECHO_COMMITTED: 'true' })!.echoCommitted).toBe(true)
    const dir = await mkdtemp(join(tmpdir(), 'concord-config-'))
    try {
      const path = join(dir, 'relay.json')
      await writeFile(path, JSON.stringify({ 'echo-committed': false }))
      expect(parseConfig(['--config', path], {}, '/srv')!.echoCommitted).toBe(false)
      expect(parseConfig(['--config', path], { CONCORD_ECHO_COMMITTED: 'true' }, '/srv')!.echoCommitted).toBe(true)
      await writeFile(path, JSON.stringify({ 'echo-committed': 'no' }))
      expect(() => parseConfig(['--config', path], {}, '/srv')).toThrow('must be true or false')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('takes the cluster settings as flags or variables, and masks passwords for display', () => {
    const store = 'postgres://concord:s3cret@db:5432/concord'
    expect(
      parse(['--store', store, '--redis', 'redis://:pw@cache:6379', '--cluster-heartbeat-ms', '1000']),
    ).toMatchObject({
      storeUrl: store,
      redisUrl: 'redis://:pw@cache:6379',
      clusterHeartbeatMs: 1000,
    })
    expect(parse([], { CONCORD_STORE: store, CONCORD_REDIS: 'rediss://cache' })).toMatchObject({
      storeUrl: store,
      redisUrl: 'rediss://cache',
    })
    expect(maskUrlCredentials(store)).toBe('postgres://concord:***@db:5432/concord')
    expect(maskUrlCredentials('redis://:pw@cache:6379')).toBe('redis://:***@cache:6379')
    expect(maskUrlCredentials('redis://cache:6379')).toBe('redis://cache:6379')
  })

  it('takes every limit as a flag or a variable', () => {
    const config = parse(
      [
        '--rate-messages',
        '50',
        '--max-connections-per-ip',
        '3',
        '--allowed-origin',
        'https://a.example',
        '--allowed-origin',
        'https://b.example',
        '--trusted-proxy',
        '10.0.0.1',
        '--headers-timeout-ms',
        '2000',
      ],
      {
        CONCORD_RATE_BYTES: '1000',
        CONCORD_MAX_DOCUMENTS_PER_CONNECTION: '4',
        CONCORD_MAX_BUFFERED_BYTES: '2048',
        CONCORD_MAX_SOCKETS: '900',
      },
    )
    expect(config?.limits).toEqual({
      messagesPerSecond: 50,
      bytesPerSecond: 1000,
      maxConnectionsPerIp: 3,
      headersTimeoutMs: 2000,
      maxSockets: 900,
      maxDocumentsPerConnection: 4,
      maxBufferedBytes: 2048,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      trustedProxies: ['10.0.0.1'],
    })
    expect(parse([], { CONCORD_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2' })?.limits.trustedProxies).toEqual([
      '10.0.0.1',
      '10.0.0.2',
    ])
    expect(
      parse([], { CONCORD_ALLOWED_ORIGINS: 'https://a.example, https://b.example' })?.limits.allowedOrigins,
    ).toEqual(['https://a.example', 'https://b.example'])
    expect(() => parse(['--rate-messages', '0'])).toThrow('--rate-messages must be a whole number from 1')
  })

  it('reads a public key file, and refuses settings that cannot be right', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'concord-config-'))
    try {
      await writeFile(join(dir, 'key.pem'), '-----BEGIN PUBLIC KEY-----\n...')
      expect(parseConfig(['--jwt-public-key', 'key.pem', '--jwt-algorithm', 'ES256'], {}, dir)?.jwt).toEqual({
        publicKeyPem: '-----BEGIN PUBLIC KEY-----\n...',
        algorithm: 'ES256',
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    expect(
      parse(['--jwt-secret', secret, '--jwt-issuer', 'https://auth.example.com', '--jwt-clock-tolerance', '30'], {
        CONCORD_JWT_AUDIENCE: 'concord',
      })?.jwt,
    ).toEqual({
      secret,
      algorithm: 'HS256',
      issuer: 'https://auth.example.com',
      audience: 'concord',
      clockToleranceSeconds: 30,
    })
    const refusals: Array<[string[], string]> = [
      [['--jwt-secret', 'short'], 'at least 32 characters'],
      [['--jwt-secret', secret, '--jwt-public-key', 'k'], 'not both'],
      [['--jwt-secret', secret, '--jwt-algorithm', 'RS256'], 'for a secret must be one of HS256'],
      [['--jwt-algorithm', 'none'], 'needs --jwt-secret'],
      [['--jwt-public-key', '/nonexistent.pem'], 'cannot read --jwt-public-key'],
      [['--jwt-issuer', 'https://auth.example.com'], '--jwt-issuer needs --jwt-secret'],
      [['--jwt-clock-tolerance', '5'], '--jwt-clock-tolerance needs --jwt-secret'],
      [['--jwt-secret', secret, '--jwt-clock-tolerance', '1.5'], '--jwt-clock-tolerance must be a whole number'],
      [['--port', '70000'], '--port must be a whole number from 0 to 65535'],
      [['--log-level', 'loud'], '--log-level must be one of'],
      [['--bogus'], "Unknown option '--bogus'"],
      [['--store', 'mysql://db'], '--store must be a postgres:// URL'],
      [['--store', 'postgres://db', '--redis', 'http://r'], '--redis must be a redis:// or rediss:// URL'],
      [['--redis', 'redis://r'], 'cluster mode) needs a shared store'],
      [['--store', 'postgres://db', '--redis', 'redis://r', '--cluster-heartbeat-ms', '5'], 'from 100 to'],
    ]
    for (const [argv, message] of refusals) {
      expect(() => parse(argv), argv.join(' ')).toThrow(ConfigError)
      expect(() => parse(argv), argv.join(' ')).toThrow(message)
    }
  })

  describe('secrets', () => {
    const withDir = async (run: (dir: string) => void | Promise<void>) => {
      const dir = await mkdtemp(join(tmpdir(), 'concord-secrets-'))
      try {
        await run(dir)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
    const store = 'postgres://app:pg/pa?ss#word@db:5432/concord'
    const redis = 'rediss://default:re/dis?pw@cache:6380'

    it('are read from files, by flag, variable or config file, so that they need not be in `ps` output', () =>
      withDir(async (dir) => {
        await writeFile(join(dir, 'jwt'), `${secret}\n`)
        await writeFile(join(dir, 'store'), `${store}\r\n`)
        await writeFile(join(dir, 'redis'), redis)
        const expected = { jwt: { secret, algorithm: 'HS256' }, storeUrl: store, redisUrl: redis }
        expect(
          parseConfig(
            ['--jwt-secret-file', 'jwt', '--store-url-file', 'store', '--redis-url-file', join(dir, 'redis')],
            {},
            dir,
          ),
        ).toMatchObject(expected)
        expect(
          parseConfig(
            [],
            { CONCORD_JWT_SECRET_FILE: 'jwt', CONCORD_STORE_URL_FILE: 'store', CONCORD_REDIS_URL_FILE: 'redis' },
            dir,
          ),
        ).toMatchObject(expected)
        await writeFile(
          join(dir, 'relay.json'),
          JSON.stringify({ 'jwt-secret-file': 'jwt', 'store-url-file': 'store', 'redis-url-file': 'redis' }),
        )
        // A config file's paths are relative to the file.
        expect(parse(['--config', join(dir, 'relay.json')])).toMatchObject(expected)
        // A higher level wins, in either form.
        expect(parseConfig(['--jwt-secret', 'y'.repeat(32)], { CONCORD_JWT_SECRET_FILE: 'jwt' }, dir)?.jwt).toEqual({
          secret: 'y'.repeat(32),
          algorithm: 'HS256',
        })
        expect(() => parseConfig(['--jwt-secret', secret, '--jwt-secret-file', 'jwt'], {}, dir)).toThrow(
          'give --jwt-secret or its file form, not both (as a flag)',
        )
        expect(() => parseConfig(['--store-url-file', 'missing'], {}, dir)).toThrow(
          `cannot read the file for --store, ${join(dir, 'missing')}: ENOENT`,
        )
        await writeFile(join(dir, 'empty'), '\n')
        expect(() => parseConfig(['--jwt-secret-file', 'empty'], {}, dir)).toThrow('is empty')
      }))

    it('are never printed in an error: a wrong type, a JSON syntax error, a stray argument', () =>
      withDir(async (dir) => {
        const path = join(dir, 'relay.json')
        const errorFor = (run: () => unknown): string => {
          try {
            run()
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError)
            return (error as Error).message
          }
          throw new Error('no error')
        }
        const leaks = /s3cret|pg\/pa|re\/dis/
        for (const contents of [
          { 'jwt-secret': ['s3cret-s3cret-s3cret-s3cret-s3cret'] },
          { 'jwt-secret': { value: 's3cret-s3cret-s3cret-s3cret-s3cret' } },
          { store: [store] },
          { redis: { url: redis } },
        ]) {
          await writeFile(path, JSON.stringify(contents))
          const message = errorFor(() => parse(['--config', path]))
          expect(message).toMatch(/must be a string, not an? (array|object) \(not shown: a secret\)/)
          expect(message).not.toMatch(leaks)
        }
        // Not secrets: still shown, as they help.
        await writeFile(path, JSON.stringify({ port: true }))
        expect(errorFor(() => parse(['--config', path]))).toContain('not true')

        await writeFile(path, '{\n  "port": 8787,\n  "jwt-secret": s3cret-s3cret-s3cret-s3cret-s3cret\n}')
        const syntax = errorFor(() => parse(['--config', path]))
        // Node 20 quotes the text around the error; the message is left out, a position kept where Node gives one.
        expect(syntax).toMatch(
          new RegExp(`^the config file ${path} is not valid JSON( \\(line \\d+, column \\d+\\))?$`),
        )
        expect(syntax).not.toMatch(leaks)
        await writeFile(path, `{ "store": "${store}",`)
        expect(errorFor(() => parse(['--config', path]))).not.toMatch(leaks)

        const stray = errorFor(() => parse(['--jwt-secert', 's3cret-s3cret-s3cret-s3cret-s3cret']))
        expect(stray).not.toMatch(leaks)
        const positional = errorFor(() => parse(['--store', 'postgres://db/x', 's3cret-s3cret']))
        expect(positional).toContain('unexpected argument')
        expect(positional).not.toMatch(leaks)
      }))
  })

  describe('a config file', () => {
    const withFile = async (contents: unknown, run: (dir: string, path: string) => void | Promise<void>) => {
      const dir = await mkdtemp(join(tmpdir(), 'concord-config-'))
      try {
        const path = join(dir, 'relay.json')
        await writeFile(path, typeof contents === 'string' ? contents : JSON.stringify(contents))
        await run(dir, path)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }

    it('fills what flags and environment variables leave unset: flags > env > file > defaults', () =>
      withFile(
        {
          port: 9001,
          host: '0.0.0.0',
          data: 'data',
          'rate-messages': '40',
          'max-connections-per-ip': 8,
          'log-level': 'warn',
          'query-tokens': false,
          'allowed-origins': ['https://file.example'],
          'jwt-secret': secret,
        },
        (dir, path) => {
          const config = parseConfig(
            ['--config', path, '--port', '9100'],
            { CONCORD_HOST: '10.0.0.1', CONCORD_RATE_MESSAGES: '70' },
            '/srv',
          )!
          expect(config.port).toBe(9100) // flag over file
          expect(config.host).toBe('10.0.0.1') // environment over file
          expect(config.limits.messagesPerSecond).toBe(70) // environment over file
          expect(config.limits.maxConnectionsPerIp).toBe(8) // file over default
          expect(config.logLevel).toBe('warn')
          expect(config.queryTokens).toBe(false)
          expect(config.limits.allowedOrigins).toEqual(['https://file.example'])
          expect(config.jwt).toEqual({ secret, algorithm: 'HS256' })
          // A path in the file is relative to the file, not to the working directory.
          expect(config.dataDir).toBe(join(dir, 'data'))
          expect(config.limits.maxDocumentsPerConnection).toBe(256) // default
          // The environment overrides the file's boolean both ways, and a flag overrides both.
          expect(parseConfig(['--config', path], { CONCORD_QUERY_TOKENS: 'true' }, '/srv')!.queryTokens).toBe(true)
          expect(
            parseConfig(['--config', path], { CONCORD_ALLOWED_ORIGINS: 'https://env.example' }, '/srv')!.limits
              .allowedOrigins,
          ).toEqual(['https://env.example'])
        },
      ))

    it('holds the cluster mode settings too', () =>
      withFile(
        { store: 'postgres://app:pw@db/concord', redis: 'redis://cache:6379', 'cluster-heartbeat-ms': 1000 },
        (_dir, path) => {
          expect(parse(['--config', path])).toMatchObject({
            storeUrl: 'postgres://app:pw@db/concord',
            redisUrl: 'redis://cache:6379',
            clusterHeartbeatMs: 1000,
          })
        },
      ))

    it('is found through CONCORD_CONFIG, relative to the working directory', () =>
      withFile({ port: 9002 }, (dir) => {
        expect(parseConfig([], { CONCORD_CONFIG: 'relay.json' }, dir)!.port).toBe(9002)
      }))

    it('refuses unknown keys, naming the key and the keys it knows', () =>
      withFile({ port: 9003, prot: 9004 }, (_dir, path) => {
        expect(() => parse(['--config', path])).toThrow(ConfigError)
        expect(() => parse(['--config', path])).toThrow(
          `unknown key "prot" in the config file ${path}; known keys: port, host,`,
        )
      }))

    it('refuses values of the wrong type, values the flags would refuse, bad JSON and a missing file', async () => {
      const refusals: Array<[unknown, string]> = [
        [{ port: true }, '"port" in the config file'],
        [{ 'query-tokens': 'no' }, 'must be true or false'],
        [{ 'allowed-origins': 'https://a.example' }, 'must be an array of strings'],
        [{ port: 70000 }, '--port must be a whole number from 0 to 65535, not "70000"'],
        [{ 'jwt-secret': 'short' }, 'at least 32 characters'],
        [[1, 2], 'must hold a JSON object'],
        ['{ "port": 1,', 'is not valid JSON'],
      ]
      for (const [contents, message] of refusals) {
        await withFile(contents, (_dir, path) => {
          expect(() => parse(['--config', path]), JSON.stringify(contents)).toThrow(message)
        })
      }
      expect(() => parse(['--config', '/nonexistent/relay.json'])).toThrow('cannot read the config file')
    })
  })
})
