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

/**
 * `url` with the password of its user info and the value of any secret query parameter replaced by
 * `***`; other text as it is. Read by structure, not with `new URL`, which refuses (or misreads as a
 * port and a path) a password holding `/`, `?` or `#`: the user info is everything between `://` and
 * the last `@`, and its password everything after its first `:`. An `@` in a query string then makes
 * more than the password masked, never less.
 */
export const maskUrlCredentials = (url: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0]
  if (scheme === undefined) return url
  let rest = url.slice(scheme.length)
  const at = rest.lastIndexOf('@')
  const colon = rest.indexOf(':')
  if (at >= 0 && colon >= 0 && colon < at) rest = `${rest.slice(0, colon + 1)}${masked}${rest.slice(at)}`
  // Parameters in the query (after the host, so after the last `@`); a secret's value runs to the next `&`,
  // `#` included, since a driver may not read `#` as the start of a fragment.
  const host = rest.lastIndexOf('@') + 1
  const query = rest.indexOf('?', host)
  if (query >= 0) {
    const parameters = rest
      .slice(query + 1)
      .split('&')
      .map((parameter) => {
        const equals = parameter.indexOf('=')
        const name = equals < 0 ? parameter : parameter.slice(0, equals)
        return equals >= 0 && secretParameter.test(decodedName(name)) ? `${name}=${masked}` : parameter
      })
    rest = `${rest.slice(0, query + 1)}${parameters.join('&')}`
  }
  return scheme + rest
}

const decodedName = (name: string): string => {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '))
  } catch {
    return name
  }
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
