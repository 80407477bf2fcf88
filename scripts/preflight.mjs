#!/usr/bin/env node
/**
 * Owns the check that runs first in `pnpm test`: are the system programs the
 * tests start themselves installed (Chromium for e2e/, redis-server and
 * PostgreSQL's initdb for the cluster tests)? A missing one stops the run at
 * once with the exact apt-get line, instead of a test failing minutes later.
 * Plain JavaScript with no dependencies, so it runs before anything is built.
 *
 *   node scripts/preflight.mjs                      # all of them
 *   node scripts/preflight.mjs redis postgresql     # only these
 */
import { accessSync, constants, existsSync, readdirSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const onPath = (name, env) =>
  (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .some((folder) => isExecutable(join(folder, name)))

/** Debian keeps PostgreSQL's server binaries off PATH, in /usr/lib/postgresql/<version>/bin (as packages/relay/src/test/servers.ts looks). */
const postgresInstalled = (env, postgresRoot) => {
  if (existsSync(postgresRoot)) {
    for (const version of readdirSync(postgresRoot)) {
      if (isExecutable(join(postgresRoot, version, 'bin', 'initdb'))) return true
    }
  }
  return onPath('initdb', env)
}

/** Each need: the Debian package that brings it, and how to tell it is there. */
export const needs = {
  chromium: {
    aptPackage: 'chromium',
    present: ({ env }) => isExecutable(env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'),
    absent: ({ env }) =>
      env.CONCORD_CHROMIUM
        ? `CONCORD_CHROMIUM=${env.CONCORD_CHROMIUM} is not an executable file`
        : 'no /usr/bin/chromium (or set CONCORD_CHROMIUM to a Chromium or Chrome binary)',
  },
  redis: {
    aptPackage: 'redis-server',
    present: ({ env }) => onPath('redis-server', env),
    absent: () => 'no redis-server on PATH',
  },
  postgresql: {
    aptPackage: 'postgresql',
    present: ({ env, postgresRoot }) => postgresInstalled(env, postgresRoot),
    absent: ({ postgresRoot }) => `no initdb in ${postgresRoot}/*/bin or on PATH`,
  },
}

/**
 * The needs (by name, in the order of `needs`) that are not met. `postgresRoot`
 * is where Debian puts PostgreSQL's versions; tests pass another folder.
 */
export const findMissing = (
  names = Object.keys(needs),
  { env = process.env, postgresRoot = '/usr/lib/postgresql' } = {},
) =>
  Object.entries(needs)
    .filter(([name]) => names.includes(name))
    .filter(([, need]) => !need.present({ env, postgresRoot }))
    .map(([name, need]) => ({ name, aptPackage: need.aptPackage, why: need.absent({ env, postgresRoot }) }))

export const installLine = (missing) => `apt-get install -y ${missing.map(({ aptPackage }) => aptPackage).join(' ')}`

const main = () => {
  const names = process.argv.slice(2)
  const unknown = names.filter((name) => !(name in needs))
  if (unknown.length > 0) {
    console.error(`preflight: unknown need ${unknown.join(', ')} (known: ${Object.keys(needs).join(', ')})`)
    process.exit(2)
  }
  const missing = findMissing(names.length > 0 ? names : undefined)
  if (missing.length === 0) return
  console.error('The tests need system packages that are not installed:')
  for (const { aptPackage, why } of missing) console.error(`  ${aptPackage}: ${why}`)
  console.error('Install them (as root, or with sudo; `bash .ci/run` installs them itself) and run the tests again:')
  console.error(`  ${installLine(missing)}`)
  process.exit(1)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main()
