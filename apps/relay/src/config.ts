/**
 * Owns the service's configuration: flags first, then CONCORD_* environment
 * variables, then a JSON config file (--config or CONCORD_CONFIG), then
 * defaults. Which settings there are, and how each is checked, is the table
 * in settings.ts; this module reads every source by that table, checks every
 * value, and derives what takes several settings (the JWT key), so the rest
 * of the service can trust the `Config`.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from './configError.js'
import type { JwtKey } from './jwtAuth.js'
import { secretOf, shownValue } from './secretSettings.js'
import { flagOf, settings, type Setting, type SettingSpec } from './settings.js'

export { ConfigError }
export { usage } from './settingsHelp.js'

/** The type of a setting's value once parsed. */
type ValueOf<S> = S extends { kind: 'integer' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'list' }
      ? readonly string[]
      : S extends { kind: 'choice'; choices: readonly (infer C)[] }
        ? C
        : string
type Resolved<S> = S extends { default: unknown } ? ValueOf<S> : ValueOf<S> | undefined
/** Each setting of `S` that has a `field`, under that name. */
type Fields<S> = { readonly [E in S as E extends { field: infer F extends string } ? F : never]: Resolved<E> }

/** Each group of settings (`limits`, ...), holding the fields of its settings. */
type Groups = { readonly [G in Extract<Setting, { group: string }>['group']]: Fields<Extract<Setting, { group: G }>> }

/**
 * The checked configuration: each setting of the table under its `field` (in `Config[group]` when it
 * has a group; paths absolute), and the JWT key, made of the `jwt-*` settings: undefined for an open relay.
 */
export type Config = Fields<Exclude<Setting, { group: string }>> &
  Groups & {
    readonly jwt: JwtKey | undefined
    /** Where webhook events go, signed with the secret (see docs/webhooks.md); undefined: no webhooks. */
    readonly webhooks:
      { readonly urls: readonly string[]; readonly secret: string; readonly debounceMs: number } | undefined
  }

type Flags = Readonly<Record<string, string | boolean | string[] | undefined>>
type Value = number | string | boolean | readonly string[] | undefined
/** A config file's settings by key: numbers as strings (checked with the flags' rules), paths made absolute. */
type FileSettings = Readonly<Record<string, string | boolean | readonly string[]>>

const table: readonly SettingSpec[] = settings

/** The config file's keys, each with its kind: every setting but --config, a secret's file form after it. */
const fileKinds = new Map<string, SettingSpec['kind']>(
  table
    .filter((setting) => setting.inFile !== false)
    .flatMap((setting) => [
      [setting.key, setting.kind] as const,
      ...(setting.secret ? [[setting.secret.fileKey, 'path'] as const] : []),
    ]),
)

const integer = (name: string, value: string, min: number, max: number): number => {
  const number = Number(value)
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`)
  }
  return number
}

/** ` (line L, column C)` for a JSON.parse error that gives a position; empty otherwise. */
const jsonErrorPlace = (text: string, error: unknown): string => {
  const position = /at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1]
  if (position === undefined) return ''
  const before = text.slice(0, Number(position)).split('\n')
  return ` (line ${before.length}, column ${before.at(-1)!.length + 1})`
}

/** Reads and checks a config file: a JSON object with known keys only, each of the right type. */
export const readConfigFile = (path: string): FileSettings => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    // JSON.parse quotes the text around the error, which may be a secret: say only where it is.
    throw new ConfigError(`the config file ${path} is not valid JSON${jsonErrorPlace(text, error)}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`the config file ${path} must hold a JSON object`)
  }
  const fileSettings: Record<string, string | boolean | readonly string[]> = {}
  for (const [key, value] of Object.entries(parsed)) {
    const kind = fileKinds.get(key)
    if (kind === undefined) {
      throw new ConfigError(
        `unknown key "${key}" in the config file ${path}; known keys: ${[...fileKinds.keys()].join(', ')}`,
      )
    }
    const wrongType = (expected: string) =>
      new ConfigError(`"${key}" in the config file ${path} must be ${expected}, not ${shownValue(key, value)}`)
    switch (kind) {
      case 'integer':
        if (typeof value !== 'number' && typeof value !== 'string') throw wrongType('a number')
        fileSettings[key] = String(value)
        break
      case 'string':
      case 'choice':
      case 'path':
        if (typeof value !== 'string') throw wrongType('a string')
        fileSettings[key] = kind === 'path' ? resolve(dirname(path), value) : value
        break
      case 'boolean':
        if (typeof value !== 'boolean') throw wrongType('true or false')
        fileSettings[key] = value
        break
      case 'list':
        if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
          throw wrongType('an array of strings')
        }
        fileSettings[key] = value
        break
    }
  }
  return fileSettings
}

/** The command line, as node:util's parseArgs reads it with an option for every flag of the table. */
const readFlags = (argv: readonly string[]): Flags => {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } }
  for (const setting of table) {
    options[flagOf(setting)] = { type: setting.kind === 'boolean' ? 'boolean' : 'string' }
    if (setting.kind === 'list') options[flagOf(setting)]!.multiple = true
    if (setting.secret) options[setting.secret.fileKey] = { type: 'string' }
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true }).values as Flags
  } catch (error) {
    // A stray argument may be a secret given to a misspelt flag: its value is not printed.
    if ((error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError('unexpected argument: this command takes options only (the argument is not shown)')
    }
    throw new ConfigError((error as Error).message)
  }
}

const webhooksOf = (
  urls: readonly string[],
  secret: string | undefined,
  debounceMs: number | undefined,
): Config['webhooks'] => {
  if (urls.length === 0) {
    if (secret !== undefined) throw new ConfigError('--webhook-secret needs --webhook-url')
    if (debounceMs !== undefined) throw new ConfigError('--webhook-debounce-ms needs --webhook-url')
    return undefined
  }
  for (const url of urls) {
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {
      parsed = undefined
    }
    // The URL is not shown: it may carry the receiver's token.
    if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
      throw new ConfigError('--webhook-url must be an http:// or https:// URL (the value is not shown)')
    }
  }
  // Receivers check the signature with it: one that is guessable lets anyone forge events.
  if (secret === undefined) throw new ConfigError('--webhook-url needs --webhook-secret, to sign the events')
  if (secret.length < 32) throw new ConfigError('--webhook-secret must be at least 32 characters long')
  return {
    urls,
    secret,
    debounceMs: debounceMs ?? 1_000,
  }
}

const commaList = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean)

/** One setting's value from the first source that gives it (flag, variable, config file), checked; else its default. */
const resolveSetting = (
  setting: SettingSpec,
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: FileSettings,
  cwd: string,
): Value => {
  const { key, variable, kind } = setting
  const checked = (value: string): string => {
    const error = setting.check?.(value)
    if (error !== undefined) throw new ConfigError(error)
    return value
  }
  if (setting.secret) {
    const { fileKey, fileVariable } = setting.secret
    const value = secretOf(key, [
      ['flag', flags[key] as string | undefined, flags[fileKey] as string | undefined, cwd],
      ['variable', env[variable], env[fileVariable], cwd],
      ['config file', file[key] as string | undefined, file[fileKey] as string | undefined, cwd],
    ])
    return value === undefined ? undefined : checked(value)
  }
  if (kind === 'boolean') {
    // The flag and the variable can only turn the default over; a config file says either.
    const turned = !setting.default
    if (flags[flagOf(setting)] === true) return turned
    const fromEnv = env[variable]
    if (fromEnv !== undefined) return fromEnv === String(turned) ? turned : !turned
    return (file[key] as boolean | undefined) ?? (setting.default as boolean)
  }
  if (kind === 'list') {
    return (
      (flags[flagOf(setting)] as string[] | undefined) ??
      commaList(env[variable]) ??
      (file[key] as readonly string[] | undefined) ??
      (setting.default as readonly string[] | undefined)
    )
  }
  const given = (flags[key] as string | undefined) ?? env[variable] ?? (file[key] as string | undefined)
  if (given === undefined) {
    return kind === 'path' && setting.default !== undefined ? resolve(cwd, String(setting.default)) : setting.default
  }
  switch (kind) {
    case 'integer':
      return integer(`--${key}`, given, setting.min ?? 0, setting.max ?? Number.MAX_SAFE_INTEGER)
    case 'choice':
      if (!setting.choices!.includes(given)) {
        throw new ConfigError(`--${key} must be one of ${setting.choices!.join(', ')}, not "${given}"`)
      }
      return given
    case 'path':
      return resolve(cwd, checked(given))
    default:
      return checked(given)
  }
}

/** The configuration, or undefined when `--help` was asked for. Throws a ConfigError for anything invalid. */
export const parseConfig = (argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Config | undefined => {
  const flags = readFlags(argv)
  if (flags.help) return undefined
  const configFile = (flags.config as string | undefined) ?? env.CONCORD_CONFIG
  const file = configFile === undefined ? {} : readConfigFile(resolve(cwd, configFile))
  const values = new Map<string, Value>()
  for (const setting of table) {
    if (setting.inFile !== false) values.set(setting.key, resolveSetting(setting, flags, env, file, cwd))
  }
  const value = <T extends Value>(key: Setting['key']): T => values.get(key) as T
  if (value('redis') !== undefined && value('store') === undefined) {
    // Each relay would resync from its own SQLite file, which the others never wrote to.
    throw new ConfigError('--redis (cluster mode) needs a shared store: give --store postgres://...')
  }
  const config: Record<string, unknown> = {}
  for (const setting of table) {
    if (setting.field === undefined) continue
    const group = setting.group === undefined ? config : ((config[setting.group] ??= {}) as Record<string, unknown>)
    group[setting.field] = values.get(setting.key)
  }
  config.jwt = withClaimChecks(jwtKeyOf(value('jwt-secret'), value('jwt-public-key'), value('jwt-algorithm')), {
    'jwt-issuer': value('jwt-issuer'),
    'jwt-audience': value('jwt-audience'),
    'jwt-clock-tolerance': value('jwt-clock-tolerance'),
  })
  config.webhooks = webhooksOf(
    value<readonly string[] | undefined>('webhook-urls') ?? [],
    value('webhook-secret'),
    value('webhook-debounce-ms'),
  )
  return config as Config
}

const secretAlgorithms = ['HS256', 'HS384', 'HS512'] as const
const keyAlgorithms = ['RS256', 'ES256', 'EdDSA'] as const

const jwtKeyOf = (
  secret: string | undefined,
  publicKeyFile: string | undefined,
  algorithm: string | undefined,
): JwtKey | undefined => {
  if (secret && publicKeyFile) throw new ConfigError('give --jwt-secret or --jwt-public-key, not both')
  if (secret !== undefined) {
    const allowed = algorithm ?? 'HS256'
    if (!(secretAlgorithms as readonly string[]).includes(allowed)) {
      throw new ConfigError(
        `--jwt-algorithm for a secret must be one of ${secretAlgorithms.join(', ')}, not "${allowed}"`,
      )
    }
    return { secret, algorithm: allowed as (typeof secretAlgorithms)[number] }
  }
  if (publicKeyFile !== undefined) {
    const allowed = algorithm ?? 'RS256'
    if (!(keyAlgorithms as readonly string[]).includes(allowed)) {
      throw new ConfigError(
        `--jwt-algorithm for a public key must be one of ${keyAlgorithms.join(', ')}, not "${allowed}"`,
      )
    }
    let publicKeyPem: string
    try {
      publicKeyPem = readFileSync(publicKeyFile, 'utf8')
    } catch (error) {
      throw new ConfigError(`cannot read --jwt-public-key ${publicKeyFile}: ${(error as Error).message}`)
    }
    return { publicKeyPem, algorithm: allowed as (typeof keyAlgorithms)[number] }
  }
  if (algorithm !== undefined) throw new ConfigError('--jwt-algorithm needs --jwt-secret or --jwt-public-key')
  return undefined
}

/** Adds the claim checks, given by flag name, to the key; refuses them without a key. */
const withClaimChecks = (
  key: JwtKey | undefined,
  checks: {
    'jwt-issuer': string | undefined
    'jwt-audience': string | undefined
    'jwt-clock-tolerance': number | undefined
  },
): JwtKey | undefined => {
  if (!key) {
    const given = Object.entries(checks).find(([, value]) => value !== undefined)
    if (given) throw new ConfigError(`--${given[0]} needs --jwt-secret or --jwt-public-key`)
    return undefined
  }
  const { 'jwt-issuer': issuer, 'jwt-audience': audience, 'jwt-clock-tolerance': tolerance } = checks
  return {
    ...key,
    ...(issuer !== undefined && { issuer }),
    ...(audience !== undefined && { audience }),
    ...(tolerance !== undefined && { clockToleranceSeconds: tolerance }),
  }
}
