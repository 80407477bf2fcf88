import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { describeConfig, maskSecrets, maskUrlCredentials } from './configSummary.js'

describe('maskUrlCredentials', () => {
  it.each([
    ['postgres://concord:s3cret@db.internal:5432/concord', 'postgres://concord:***@db.internal:5432/concord'],
    ['redis://:p%40ss@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['rediss://default:hunter2@cache.example:6380', 'rediss://default:***@cache.example:6380'],
    [
      'postgres://db/concord?user=app&password=s3cret&sslmode=require',
      'postgres://db/concord?user=app&password=***&sslmode=require',
    ],
  ])('masks the password in %s', (url, expected) => {
    expect(maskUrlCredentials(url)).toBe(expected)
    expect(maskUrlCredentials(url)).not.toMatch(/s3cret|p%40ss|hunter2/)
  })

  it.each([
    ['postgres://app:se/cr?et#1@db.internal:5432/concord', 'postgres://app:***@db.internal:5432/concord'],
    ['postgres://app:12/secret@db/concord', 'postgres://app:***@db/concord'],
    ['redis://:#secret?@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['rediss://default:a@b/c@cache.example:6380', 'rediss://default:***@cache.example:6380'],
    [
      'postgres://db/concord?sslmode=require&password=se#cr&et',
      'postgres://db/concord?sslmode=require&password=***&et',
    ],
    ['postgres://app:secret@db/concord?application_name=a@b', 'postgres://app:***@b'],
  ])('masks a password that holds / ? # or @ by the URL structure: %s', (url, expected) => {
    expect(maskUrlCredentials(url)).toBe(expected)
    expect(maskUrlCredentials(url)).not.toMatch(/secret|se\/cr|cr\?et|12\/|a@b\/c|se#cr/)
  })

  it.each([
    'postgres://concord@db/concord',
    'redis://cache:6379',
    'https://a.example',
    'not a url',
    '/var/lib/concord',
  ])('leaves %s as it is', (text) => {
    expect(maskUrlCredentials(text)).toBe(text)
  })
})

describe('describeConfig', () => {
  it('shows every setting, with the JWT secret masked', () => {
    const secret = 'a secret of at least thirty-two characters'
    const config = parseConfig(['--jwt-secret', secret, '--allowed-origin', 'https://a.example'], {}, '/srv')!
    const described = describeConfig(config)
    expect(described).toMatchObject({
      port: 8787,
      dataDir: '/srv/.concord-data',
      jwt: { algorithm: 'HS256', secret: '***' },
      limits: { allowedOrigins: ['https://a.example'] },
    })
    expect(JSON.stringify(described)).not.toContain(secret)
  })

  it('masks the passwords of the cluster mode URLs', () => {
    const config = parseConfig(
      [
        '--store',
        'postgres://app:pg-pass-123@db:5432/concord',
        '--redis',
        'rediss://default:redis-pass-456@cache:6380',
      ],
      {},
      '/srv',
    )!
    const described = describeConfig(config)
    expect(described).toMatchObject({
      storeUrl: 'postgres://app:***@db:5432/concord',
      redisUrl: 'rediss://default:***@cache:6380',
    })
    expect(JSON.stringify(described)).not.toMatch(/pg-pass-123|redis-pass-456/)
  })

  it('masks secrets in settings it does not know yet: secret-looking keys and URL credentials', () => {
    const later = {
      store: 'postgres://app:pw123456@db/concord',
      redis: { url: 'redis://:pw654321@cache' },
      apiToken: 'tok',
    }
    const shown = JSON.stringify(maskSecrets(later))
    expect(shown).not.toMatch(/pw123456|pw654321|tok"/)
    expect(maskSecrets(later)).toEqual({
      store: 'postgres://app:***@db/concord',
      redis: { url: 'redis://:***@cache' },
      apiToken: '***',
    })
  })
})
