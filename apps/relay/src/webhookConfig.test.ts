/**
 * The webhook settings: --webhook-url (repeatable), --webhook-secret (or its
 * file), --webhook-debounce-ms, from flags, variables or the config file, the
 * secret never shown.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from './config.js'
import { describeConfig } from './configSummary.js'

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, '/srv')
const secret = 'w'.repeat(40)

describe('webhook settings', () => {
  it('takes URLs and the secret from flags, variables or the config file, flags first', async () => {
    expect(parse([])!.webhooks).toBeUndefined()
    const flags = ['--webhook-url', 'https://a.example/h', '--webhook-url', 'http://127.0.0.1:9/h']
    expect(parse([...flags, '--webhook-secret', secret])!.webhooks).toEqual({
      urls: ['https://a.example/h', 'http://127.0.0.1:9/h'],
      secret,
      debounceMs: 1000,
    })
    expect(
      parse([], {
        CONCORD_WEBHOOK_URLS: 'https://a.example/h, https://b.example/h',
        CONCORD_WEBHOOK_SECRET: secret,
        CONCORD_WEBHOOK_DEBOUNCE_MS: '250',
      })!.webhooks,
    ).toEqual({ urls: ['https://a.example/h', 'https://b.example/h'], secret, debounceMs: 250 })

    const dir = await mkdtemp(join(tmpdir(), 'concord-webhook-config-'))
    try {
      await writeFile(join(dir, 'secret'), `${secret}\n`)
      await writeFile(
        join(dir, 'concord.json'),
        JSON.stringify({ 'webhook-urls': ['https://c.example/h'], 'webhook-secret-file': 'secret' }),
      )
      const fromFile = parse(['--config', join(dir, 'concord.json')])!
      expect(fromFile.webhooks).toEqual({ urls: ['https://c.example/h'], secret, debounceMs: 1000 })
      expect(JSON.stringify(describeConfig(fromFile))).not.toContain(secret)
      expect(describeConfig(fromFile)).toMatchObject({ webhooks: { secret: '***' } })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses URLs without a secret, a short secret, a secret without URLs, and URLs that are not http(s)', () => {
    const refuses = (argv: string[], message: RegExp) => {
      expect(() => parse(argv)).toThrow(ConfigError)
      expect(() => parse(argv)).toThrow(message)
    }
    refuses(['--webhook-url', 'https://a.example/h'], /needs --webhook-secret/)
    refuses(['--webhook-url', 'https://a.example/h', '--webhook-secret', 'short'], /at least 32 characters/)
    refuses(['--webhook-secret', secret], /needs --webhook-url/)
    refuses(
      ['--webhook-url', 'ftp://a.example/h?token=t0ps3cret', '--webhook-secret', secret],
      /http:\/\/ or https:\/\//,
    )
    expect(() => parse(['--webhook-url', 'ftp://x/?token=t0ps3cret', '--webhook-secret', secret])).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('t0ps3cret') as unknown }) as Error,
    )
    expect(() => parse(['--webhook-url', 'https://a.example/h', '--webhook-secret', 'short'])).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('short') as unknown }) as Error,
    )
  })
})
