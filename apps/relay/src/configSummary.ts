/**
 * Owns what the service says about its configuration at start: every
 * setting, with secrets masked. JWT secrets, and any value under a key that
 * names a secret, become `***`; a password inside a URL (postgres://u:pw@h,
 * redis://:pw@h) and secret query parameters become `***` too, whatever the
 * key, so that settings added later are masked without anyone remembering to.
 */
import type { Config } from './config.js'
import type { JwtKey } from './jwtAuth.js'

export const masked = '***'

/** Keys whose values are secrets wherever they appear. */
const secretKey = /secret|password|passwd|token|credential|private|api[-_]?key/i
/** Query parameters that carry secrets in connection URLs. */
const secretParameter = /^(password|pass|pwd|token|secret|key|auth|access[-_]?token|api[-_]?key|sslpassword)$/i

/** `url` with the password of its user info and any secret query parameter replaced by `***`; other text as it is. */
export const maskUrlCredentials = (url: string): string => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Not a URL after all; a user info part still may not pass.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, `$1${masked}@`)
  }
  let changed = false
  if (parsed.password) {
    parsed.password = masked
    changed = true
  }
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParameter.test(name)) {
      parsed.searchParams.set(name, masked)
      changed = true
    }
  }
  return changed ? parsed.href : url
}

/** `value` with every secret masked: values under secret-looking keys, and credentials inside URLs. */
export const maskSecrets = (value: unknown, key = ''): unknown => {
  if (typeof value === 'string') return secretKey.test(key) ? masked : maskUrlCredentials(value)
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, key))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, maskSecrets(item, name)]))
  }
  return value
}

/** The effective configuration as one log line shows it: secrets masked, the public key's PEM summarised. */
export const describeConfig = (config: Config): Record<string, unknown> => {
  const { jwt, ...rest } = config
  return maskSecrets({ ...rest, jwt: jwt === undefined ? 'none' : describeJwt(jwt) }) as Record<string, unknown>
}

const describeJwt = (jwt: JwtKey): Record<string, unknown> => {
  if ('secret' in jwt) return { ...jwt }
  const { publicKeyPem, ...checks } = jwt
  return { ...checks, publicKey: `PEM, ${publicKeyPem.length} characters` }
}
