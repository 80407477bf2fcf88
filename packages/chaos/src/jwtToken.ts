/**
 * Owns the tokens of runs whose relays require JWTs (`--hostile`, so that an
 * auth-frame flood costs what it costs in production): HS256 tokens signed
 * with the run's secret, granting write access to every document of the run.
 */
import { createHmac, randomBytes } from 'node:crypto'

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url')

export const newJwtSecret = (): string => randomBytes(32).toString('hex')

export const signToken = (secret: string, subject: string, docs: Record<string, 'read' | 'write'>): string => {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const payload = base64url(JSON.stringify({ sub: subject, exp: Math.floor(Date.now() / 1000) + 3_600, docs }))
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}
