/**
 * Owns how the settings whose values are secrets are read and shown (the JWT
 * secret, the HTTP API's service key, the store and Redis URLs, which may
 * hold passwords; `secret` in settings.ts says which): each may be given as a
 * file that holds it, so that it is in neither `ps` output nor the config
 * file, and no error ever prints its value.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from './configError.js'
import { isSecretKey } from './settings.js'

const jsonTypeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value

/**
 * How an error may show the value of setting `key`: as JSON, or, for a secret, by its JSON type only.
 * Not even a wrong value of a secret is printed: it may be the right secret in the wrong form.
 */
export const shownValue = (key: string, value: unknown): string =>
  isSecretKey(key) ? `a ${jsonTypeOf(value)} (not shown: a secret)` : JSON.stringify(value)

/**
 * A secret setting, from the first source (flag, variable, config file) that gives it, either as the
 * value or as the path of a file that holds it (relative to `cwd`; a config file's paths are already
 * absolute). Both at one level are refused.
 */
export const secretOf = (
  name: string,
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
