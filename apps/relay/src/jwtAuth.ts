/**
 * Owns the service's answer to "who may do what": JWTs checked with jose
 * against one key and an algorithm allowlist, carrying `sub`, `exp`, and
 * per-document rights in a `docs` claim:
 *
 *   { "sub": "ada", "exp": 1795430000, "docs": { "notes/ada": "write", "team/*": "read" } }
 *
 * An exact name wins over a prefix; among prefixes (ending in `*`) the
 * longest wins.
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

/** The access `docs` grants to `doc`, or undefined when it grants none. */
export const accessFor = (docs: unknown, doc: string): Access | undefined => {
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) return undefined
  const rights = docs as Record<string, unknown>
  if (Object.hasOwn(rights, doc)) return isAccess(rights[doc]) ? rights[doc] : undefined
  let best: { length: number; access: Access } | undefined
  for (const [pattern, access] of Object.entries(rights)) {
    if (!pattern.endsWith('*') || !isAccess(access)) continue
    const prefix = pattern.slice(0, -1)
    if (doc.startsWith(prefix) && (!best || prefix.length > best.length)) best = { length: prefix.length, access }
  }
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
