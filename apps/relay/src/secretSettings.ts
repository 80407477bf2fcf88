/**
 * Owns the settings whose values are secrets (the JWT secret, the HTTP API's
 * service key, the webhook secret, the store and Redis URLs, which may hold passwords): each may be given as a file that
 * holds it, so that it is in neither `ps` output nor the config file, and
 * no error ever prints its value.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './configError.js'

/** Each secret setting, with the names of its file form as a flag (and config key) and as variables. */
export const secretForms = {
  'jwt-secret': {
    fileFlag: 'jwt-secret-file',
    variable: 'CONCORD_JWT_SECRET',
    fileVariable: 'CONCORD_JWT_SECRET_FILE',
  },
  'api-key': { fileFlag: 'api-key-file', variable: 'CONCORD_API_KEY', fileVariable: 'CONCORD_API_KEY_FILE' },
  store: { fileFlag: 'store-url-file', variable: 'CONCORD_STORE', fileVariable: 'CONCORD_STORE_URL_FILE' },
  redis: { fileFlag: 'redis-url-file', variable: 'CONCORD_REDIS', fileVariable: 'CONCORD_REDIS_URL_FILE' },
  'webhook-secret': {
    fileFlag: 'webhook-secret-file',
    variable: 'CONCORD_WEBHOOK_SECRET',
    fileVariable: 'CONCORD_WEBHOOK_SECRET_FILE',
  },
} as const

export type SecretSetting = keyof typeof secretForms

const jsonTypeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value

/**
 * How an error may show the value of setting `key`: as JSON, or, for a secret, by its JSON type only.
 * Not even a wrong value of a secret is printed: it may be the right secret in the wrong form.
 */
export const shownValue = (key: string, value: unknown): string =>
  Object.hasOwn(secretForms, key) ? `a ${jsonTypeOf(value)} (not shown: a secret)` : JSON.stringify(value)

/**
 * A secret setting, from the first source (flag, variable, config file) that gives it, either as the
 * value or as the path of a file that holds it (relative to `cwd`; a config file's paths are already
 * absolute). Both at one level are refused.
 */
export const secretOf = (
  name: SecretSetting,
  sources: ReadonlyArray<[level: string, value: string | undefined, file: string | undefined, cwd: string]>,
): string | undefined => {
  for (const [level, value, path, cwd] of sources) {
    if (value !== undefined && path !== undefined) {
      throw new ConfigError(`give --${name} or its file form, not both (as a ${level})`)
    }
    if (value !== undefined) return value
    if (path !== undefined) return readSecretFile(name, resolve(cwd, path))
  }
  return undefined
}

const readSecretFile = (name: string, path: string): string => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    // The error's code only: its message is about the path, which is already said.
    throw new ConfigError(
      `cannot read the file for --${name}, ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    )
  }
  // Editors and `echo` end a file with a line break; it is never part of the secret.
  const value = text.replace(/[\r\n]+$/, '')
  if (value === '') throw new ConfigError(`the file for --${name}, ${path}, is empty`)
  return value
}
