import type { IncomingMessage } from 'node:http'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { accessFor, createJwtAuthenticate, exactGrant, parseGrantPattern } from './jwtAuth.js'

const request = {} as IncomingMessage
const secret = 'a test secret that is long enough for HS256'
const sign = (
  claims: Record<string, unknown>,
  { key = new TextEncoder().encode(secret) as Uint8Array | CryptoKey, alg = 'HS256', expiresIn = '1h' } = {},
) => new SignJWT(claims).setProtectedHeader({ alg }).setSubject('ada').setExpirationTime(expiresIn).sign(key)

describe('accessFor', () => {
  it('prefers an exact name, then the longest prefix', () => {
    const docs = { 'team/*': 'read', 'team/notes*': 'write', 'team/plan': 'read', '*': 'read' }
    expect(accessFor(docs, 'team/plan')).toBe('read')
    expect(accessFor(docs, 'team/notes/1')).toBe('write')
    expect(accessFor(docs, 'team/x')).toBe('read')
    expect(accessFor(docs, 'other')).toBe('read')
    expect(accessFor({ a: 'admin' }, 'a')).toBeUndefined()
    expect(accessFor(['a'], 'a')).toBeUndefined()
    expect(accessFor({}, '__proto__')).toBeUndefined()
  })
})

describe('grant patterns', () => {
  it('grants a literal star only when it is escaped: "ada*" is a prefix, "ada\\*" the document ada*', () => {
    expect(accessFor({ 'ada\\*': 'write' }, 'ada*')).toBe('write')
    expect(accessFor({ 'ada\\*': 'write' }, 'adam/private')).toBeUndefined()
    expect(accessFor({ 'ada\\*': 'write' }, 'ada')).toBeUndefined()
    expect(accessFor({ 'ada*': 'write' }, 'adam/private')).toBe('write')
    // A backslash in a name is escaped too; a stray one makes the key grant nothing.
    expect(accessFor({ 'a\\\\b': 'read' }, 'a\\b')).toBe('read')
    expect(accessFor({ 'a\\b': 'read' }, 'a\\b')).toBeUndefined()
    expect(accessFor({ 'a\\': 'read', 'b\\\\*': 'read' }, 'a\\')).toBeUndefined()
    expect(accessFor({ 'b\\\\*': 'read' }, 'b\\c')).toBe('read')
    // An escaped exact grant wins over a prefix, as any exact name does.
    expect(accessFor({ 'ada*': 'write', 'ada\\*': 'read' }, 'ada*')).toBe('read')
  })

  it('exactGrant escapes a name so that it grants that document only', () => {
    for (const name of ['ada*', 'a\\b', '\\*', '*', 'plain', 'x\\\\*']) {
      expect(parseGrantPattern(exactGrant(name))).toEqual({ exact: name })
      expect(accessFor({ [exactGrant(name)]: 'write' }, name)).toBe('write')
      expect(accessFor({ [exactGrant(name)]: 'write' }, `${name}/more`)).toBeUndefined()
    }
    expect(parseGrantPattern('team/*')).toEqual({ prefix: 'team/' })
    expect(parseGrantPattern('a*b')).toEqual({ exact: 'a*b' })
    expect(parseGrantPattern('a\\x')).toBeUndefined()
  })
})

describe('createJwtAuthenticate', () => {
  it('grants what the docs claim says, until exp', async () => {
    const authenticate = await createJwtAuthenticate({ secret })
    const token = await sign({ docs: { 'notes/*': 'write', readme: 'read' } })
    const result = await authenticate(request, 'notes/today', token)
    expect(result).toMatchObject({ access: 'write' })
    expect('expiresAt' in result && result.expiresAt! - Date.now()).toBeGreaterThan(3_500_000)
    expect(await authenticate(request, 'readme', token)).toMatchObject({ access: 'read' })
    expect(await authenticate(request, 'elsewhere', token)).toEqual({
      denied: 'forbidden',
      reason: 'the token grants no access to "elsewhere"',
    })
  })

  it('requires the configured issuer and audience, and allows the configured clock leeway', async () => {
    const authenticate = await createJwtAuthenticate({
      secret,
      issuer: 'https://auth.example.com',
      audience: 'concord',
      clockToleranceSeconds: 120,
    })
    const docs = { a: 'write' }
    const signWith = (issuer: string, audience: string | string[], expiresIn = '1h') =>
      new SignJWT({ docs })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('ada')
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime(expiresIn)
        .sign(new TextEncoder().encode(secret))
    expect(await authenticate(request, 'a', await signWith('https://auth.example.com', 'concord'))).toMatchObject({
      access: 'write',
    })
    expect(
      await authenticate(request, 'a', await signWith('https://auth.example.com', ['other', 'concord'])),
    ).toMatchObject({ access: 'write' })
    for (const token of [
      await signWith('https://evil.example.com', 'concord'),
      await signWith('https://auth.example.com', 'another-app'),
      await sign({ docs }),
    ]) {
      expect(await authenticate(request, 'a', token)).toEqual({
        denied: 'unauthenticated',
        reason: 'the token is not valid',
      })
    }
    // A minute past exp is within the leeway, and the session then ends when the leeway does.
    const late = await authenticate(request, 'a', await signWith('https://auth.example.com', 'concord', '-60s'))
    expect(late).toMatchObject({ access: 'write' })
    expect('expiresAt' in late && late.expiresAt! - Date.now()).toBeGreaterThan(50_000)
    expect(
      await authenticate(request, 'a', await signWith('https://auth.example.com', 'concord', '-3m')),
    ).toMatchObject({ denied: 'unauthenticated', reason: 'the token expired' })
  })

  it('refuses a missing, forged, expired or wrongly signed token as unauthenticated', async () => {
    const authenticate = await createJwtAuthenticate({ secret })
    const docs = { a: 'write' }
    expect(await authenticate(request, 'a', undefined)).toEqual({
      denied: 'unauthenticated',
      reason: 'a token is required',
    })
    const forged = await sign({ docs }, { key: new TextEncoder().encode('another secret, just as long as the first') })
    expect(await authenticate(request, 'a', forged)).toMatchObject({
      denied: 'unauthenticated',
      reason: 'the token is not valid',
    })
    const expired = await sign({ docs }, { expiresIn: '-1m' })
    expect(await authenticate(request, 'a', expired)).toMatchObject({
      denied: 'unauthenticated',
      reason: 'the token expired',
    })
    // alg "none" and another algorithm than the allowed one are refused.
    const payload = (await sign({ docs })).split('.')[1]
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`
    expect(await authenticate(request, 'a', unsigned)).toMatchObject({ denied: 'unauthenticated' })
    const hs512 = await sign({ docs }, { alg: 'HS512' })
    expect(await authenticate(request, 'a', hs512)).toMatchObject({ denied: 'unauthenticated' })
  })

  it('verifies with a public key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    const authenticate = await createJwtAuthenticate({ publicKeyPem: await exportSPKI(publicKey), algorithm: 'ES256' })
    const token = await sign({ docs: { a: 'read' } }, { key: privateKey, alg: 'ES256' })
    expect(await authenticate(request, 'a', token)).toMatchObject({ access: 'read' })
    const hmac = await sign({ docs: { a: 'read' } })
    expect(await authenticate(request, 'a', hmac)).toMatchObject({ denied: 'unauthenticated' })
  })
})
