/**
 * Owns the rules the workspace's package.json files keep, so that the packages stay clean to
 * depend on: a dependency that two or more packages use takes its version from the pnpm catalog
 * (pnpm-workspace.yaml), one version of ws, better-sqlite3 and yjs is installed, and each published
 * package says where it comes from (repository, homepage, bugs), ships a CHANGELOG, and ships no
 * declaration map that points at sources it leaves out.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

interface PackageJson {
  readonly name: string
  readonly private?: boolean
  readonly files?: string[]
  readonly homepage?: string
  readonly repository?: { readonly url?: string; readonly directory?: string }
  readonly bugs?: { readonly url?: string }
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
}

/** The workspace's packages, by folder relative to the root: the root and what pnpm-workspace.yaml names. */
const workspacePackages = (): Map<string, PackageJson> => {
  const folders = ['.', 'e2e', 'bench', 'packages/react/react18']
  for (const parent of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, parent))) folders.push(`${parent}/${name}`)
  }
  const packages = new Map<string, PackageJson>()
  for (const folder of folders) {
    const file = join(root, folder, 'package.json')
    if (existsSync(file)) packages.set(folder, JSON.parse(readFileSync(file, 'utf8')) as PackageJson)
  }
  return packages
}

/**
 * The catalogs of pnpm-workspace.yaml, by name (`default` for `catalog:`), read as the two-level
 * maps they are: enough YAML for that file, which a test of it would notice outgrowing.
 */
const catalogs = (): Map<string, Map<string, string>> => {
  const found = new Map<string, Map<string, string>>()
  let section: 'catalog' | 'catalogs' | undefined
  let current: Map<string, string> | undefined
  const unquote = (text: string) => text.trim().replace(/^'(.*)'$/, '$1')
  for (const line of readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n')) {
    const text = line.replace(/\s+#.*$/, '').replace(/^\s*#.*$/, '')
    if (text.trim() === '') continue
    const indent = text.length - text.trimStart().length
    const [key = '', ...rest] = text.trim().split(/:(?: |$)/)
    const value = rest.join(': ')
    if (indent === 0) {
      section = key === 'catalog' || key === 'catalogs' ? key : undefined
      current = section === 'catalog' ? new Map() : undefined
      if (current) found.set('default', current)
    } else if (section === 'catalogs' && indent === 2) {
      current = new Map()
      found.set(unquote(key), current)
    } else if (current && value !== '') {
      current.set(unquote(key), unquote(value))
    }
  }
  return found
}

/** Every package's dependencies of the kinds a catalog serves (peer ranges are each package's contract). */
const dependenciesOf = (pkg: PackageJson): [string, string][] => [
  ...Object.entries(pkg.dependencies ?? {}),
  ...Object.entries(pkg.devDependencies ?? {}),
  ...Object.entries(pkg.optionalDependencies ?? {}),
]

/** The compiler options a tsconfig file ends up with, following its `extends`. */
const compilerOptionsOf = (file: string): Record<string, unknown> => {
  const config = JSON.parse(readFileSync(file, 'utf8')) as {
    extends?: string
    compilerOptions?: Record<string, unknown>
  }
  const inherited = config.extends ? compilerOptionsOf(resolve(dirname(file), config.extends)) : {}
  return { ...inherited, ...config.compilerOptions }
}

describe('workspace packages', () => {
  const packages = workspacePackages()
  const published = [...packages].filter(([, pkg]) => pkg.private !== true)

  it('finds the packages it checks', () => {
    expect(packages.get('packages/relay')?.name).toBe('@concord/relay')
    expect(published.map(([, pkg]) => pkg.name)).toEqual(
      expect.arrayContaining(['@concord/protocol', '@concord/client', '@concord/relay', '@concord/react']),
    )
    expect(catalogs().get('default')?.get('yjs')).toMatch(/^\^13\./)
  })

  it('takes the version of every dependency two or more packages use from the catalog', () => {
    const users = new Map<string, string[]>()
    for (const [folder, pkg] of packages) {
      for (const [name, specifier] of dependenciesOf(pkg)) {
        if (specifier.startsWith('workspace:')) continue
        users.set(name, [...(users.get(name) ?? []), `${folder}: ${specifier}`])
      }
    }
    const written = [...users]
      .filter(([, uses]) => uses.length > 1)
      .flatMap(([name, uses]) => uses.filter((use) => !/: catalog:/.test(use)).map((use) => `${name} in ${use}`))
    expect(written).toEqual([])
  })

  it('names only catalog entries that exist', () => {
    const all = catalogs()
    const missing = [...packages].flatMap(([folder, pkg]) =>
      dependenciesOf(pkg)
        .filter(([, specifier]) => specifier.startsWith('catalog:'))
        .filter(([name, specifier]) => !all.get(specifier.slice('catalog:'.length) || 'default')?.has(name))
        .map(([name, specifier]) => `${folder}: ${name} ${specifier}`),
    )
    expect(missing).toEqual([])
  })

  it('installs one version of ws, better-sqlite3 and yjs', () => {
    const lock = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8')
    const packagesSection = lock.slice(lock.indexOf('\npackages:\n'), lock.indexOf('\nsnapshots:\n'))
    for (const name of ['ws', 'better-sqlite3', 'yjs']) {
      const versions = [...packagesSection.matchAll(new RegExp(`^  '?${name}@([^:'(]+)'?:`, 'gm'))].map((m) => m[1])
      expect(versions, name).toHaveLength(1)
    }
  })

  it.each(published.map(([folder, pkg]) => [pkg.name, folder, pkg] as const))(
    '%s says where it comes from and ships a CHANGELOG',
    (_name, folder, pkg) => {
      expect(pkg.repository?.url).toBe('git+https://github.com/concord-sync/concord.git')
      expect(pkg.repository?.directory).toBe(folder)
      expect(pkg.homepage).toBe(`https://github.com/concord-sync/concord/tree/main/${folder}#readme`)
      expect(pkg.bugs?.url).toBe('https://github.com/concord-sync/concord/issues')
      expect(pkg.files).toContain('CHANGELOG.md')
      expect(existsSync(join(root, folder, 'CHANGELOG.md'))).toBe(true)
    },
  )

  it.each(published.map(([folder, pkg]) => [pkg.name, folder, pkg] as const))(
    '%s ships no declaration map without the sources it points at',
    (_name, folder, pkg) => {
      const options = compilerOptionsOf(join(root, folder, 'tsconfig.build.json'))
      if (options.declarationMap === true) expect(pkg.files).toContain('src')
      else expect(options.declarationMap ?? false).toBe(false)
    },
  )
})
