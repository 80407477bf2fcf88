/**
 * Owns the service's answer to "who may do what": JWTs checked with jose
 * against one key and an algorithm allowlist, carrying `sub`, `exp`, and
 * per-document rights in a `docs` claim:
 *
 *   { "sub": "ada", "exp": 1795430000, "docs": { "notes/ada": "write", "team/*": "read" } }
 *
 * A key is a grant pattern: a name taken literally, or, when it ends in an
 * unescaped `*`, a prefix. `\` escapes the character after it (`\*` is a
 * literal star, `\\` a literal backslash), so every key means exactly one
 * thing: `"ada\\*"` in JSON is the document `ada*`, `"ada*"` every name that
 * starts with `ada`. A key with any other `\` grants nothing. An exact name
 * wins over a prefix; among prefixes the longest wins.
 */
import { errors, importSPKI, jwtVerify, type JWTPayload } from 'jose'
import type { Access, Authenticate } from '@concord/relay'

/** What a token must say besides its signature, `sub` and `exp`. */
export interface JwtClaimChecks {
  /** Require this `iss`. */
  readonly issuer?: string
  /** Require this `aud` (a token's `aud` may be a list that holds it). */
  readonly audience?: string
  /** Seconds of leeway on `exp` and `nbf`, for machines whose clocks disagree. Default 0. */
  readonly clockToleranceSeconds?: number
}

export type JwtKey = (
  | { readonly secret: string; readonly algorithm?: 'HS256' | 'HS384' | 'HS512' }
  | { readonly publicKeyPem: string; readonly algorithm?: 'RS256' | 'ES256' | 'EdDSA' }
) &
  JwtClaimChecks

const isAccess = (value: unknown): value is Access => value === 'read' || value === 'write'

/** What one key of the `docs` claim names: one document, or every document whose name starts with `prefix`. */
export type GrantPattern = { readonly exact: string } | { readonly prefix: string }

/** The pattern a `docs` key stands for, or undefined for a key that is not well formed (a stray `\`). */
export const parseGrantPattern = (key: string): GrantPattern | undefined => {
  let name = ''
  for (let i = 0; i < key.length; i++) {
    const char = key[i]!
    if (char === '\\') {
      const next = key[i + 1]
      if (next !== '\\' && next !== '*') return undefined
      name += next
      i++
    } else if (char === '*' && i === key.length - 1) {
      return { prefix: name }
    } else {
      name += char
    }
  }
  return { exact: name }
}

/** The `docs` key that grants exactly `doc` (its stars and backslashes escaped): for whoever issues tokens. */
export const exactGrant = (doc: string): string => doc.replace(/[\\*]/g, '\\$&')

/** The access `docs` grants to `doc`, or undefined when it grants none. */
export const accessFor = (docs: unknown, doc: string): Access | undefined => {
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) return undefined
  // An exact grant with a value other than read or write still wins: it grants nothing.
  let exact: { access: unknown } | undefined
  let best: { length: number; access: Access } | undefined
  for (const [key, access] of Object.entries(docs as Record<string, unknown>)) {
    const pattern = parseGrantPattern(key)
    if (!pattern) continue
    if ('exact' in pattern) {
      if (pattern.exact === doc) exact = { access }
    } else if (isAccess(access) && doc.startsWith(pattern.prefix) && (!best || pattern.prefix.length > best.length)) {
      best = { length: pattern.prefix.length, access }
    }
  }
  if (exact) return isAccess(exact.access) ? exact.access : undefined
  return best?.access
}

/** An `authenticate` hook that accepts only JWTs signed with `key`'s algorithm. */
export const createJwtAuthenticate = async (key: JwtKey): Promise<Authenticate> => {
  const algorithm = key.algorithm ?? ('secret' in key ? 'HS256' : 'RS256')
  const verificationKey: Parameters<typeof jwtVerify>[1] =
    'secret' in key ? new TextEncoder().encode(key.secret) : await importSPKI(key.publicKeyPem, algorithm)
  const tolerance = key.clockToleranceSeconds ?? 0
  return async (_request, doc, token) => {
    if (!token) return { denied: 'unauthenticated', reason: 'a token is required' }
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, verificationKey, {
        algorithms: [algorithm],
        requiredClaims: ['sub', 'exp'],
        clockTolerance: tolerance,
        ...(key.issuer !== undefined && { issuer: key.issuer }),
        ...(key.audience !== undefined && { audience: key.audience }),
      }))
    } catch (error) {
      const reason = error instanceof errors.JWTExpired ? 'the token expired' : 'the token is not valid'
      return { denied: 'unauthenticated', reason }
    }
    const access = accessFor(payload.docs, doc)
    if (!access) return { denied: 'forbidden', reason: `the token grants no access to "${doc}"` }
    // The session ends when the token would stop being accepted.
    return { access, expiresAt: (payload.exp! + tolerance) * 1000, subject: payload.sub }
  }
}
