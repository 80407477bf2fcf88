/**
 * Owns the rule that the workspace's packages use each other by name only:
 * no source file of one package imports a file of another by relative path,
 * nor names a path into another package's `src/` (as the client's tests once
 * imported `apps/relay/src/test/...`, which works in this checkout only and
 * hides the dependency from the package manager). They import
 * `@concord/<name>/<entry>`, declared in their package.json. Reading another
 * package's build output as data (the relay serving apps/demo/dist) is no
 * import and passes. Files outside every package (the root's configs) may map
 * names to sources, as vitest.config.ts does.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, extname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const sourceExtensions = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs'])

/** The package a repository path belongs to: the deepest package folder that holds it; undefined at the root. */
const packageOf = (packageFolders: readonly string[], path: string): string | undefined =>
  packageFolders
    .filter((folder) => path.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length)
    .at(0)

/** A module specifier: `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"`])(\.\.?\/[^'"`]*)\1/g
/** Any quoted relative path. */
const relativePath = /(['"`])(\.\.?\/[^'"`\s]*)\1/g

/** The places in `text` (of `file`) where it reaches into another package than its own, as `path (why)`. */
const crossings = (packageFolders: readonly string[], file: string, text: string): string[] => {
  const own = packageOf(packageFolders, file)
  if (own === undefined) return []
  const target = (path: string) => {
    const resolved = posix.normalize(posix.join(posix.dirname(file), path))
    const other = packageOf(packageFolders, resolved)
    return other !== undefined && other !== own ? { resolved, other } : undefined
  }
  const found: string[] = []
  const imported = new Set<string>()
  for (const [, , path] of text.matchAll(specifier)) {
    const into = target(path!)
    if (!into) continue
    imported.add(path!)
    found.push(`${path} (an import from ${into.other}: import it by name)`)
  }
  for (const [, , path] of text.matchAll(relativePath)) {
    const into = target(path!)
    if (into && !imported.has(path!) && into.resolved.startsWith(`${into.other}/src/`)) {
      found.push(`${path} (a path into the sources of ${into.other})`)
    }
  }
  return found
}

const packageFolders = (): string[] =>
  execFileSync('git', ['ls-files', '-z', '*package.json'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file.endsWith('/package.json'))
    .map((file) => dirname(file))

// Built with join so that this file does not name, from scripts/, the paths it tests for.
const up = (levels: number, rest: string) => [...Array<string>(levels).fill('..'), rest].join('/')

describe('packages use each other by name', () => {
  const folders = ['packages/client', 'packages/relay', 'packages/react', 'packages/react/react18', 'apps/relay']

  it('flags a relative import of another package, and a path into its sources', () => {
    expect(
      crossings(
        folders,
        'packages/client/src/client.test.ts',
        `import { a } from '${up(3, 'apps/relay/src/test/a.js')}'`,
      ),
    ).toEqual([`${up(3, 'apps/relay/src/test/a.js')} (an import from apps/relay: import it by name)`])
    expect(
      crossings(folders, 'packages/react/src/a.ts', `const m = await import('${up(2, 'relay/dist/index.js')}')`),
    ).toEqual([`${up(2, 'relay/dist/index.js')} (an import from packages/relay: import it by name)`])
    expect(
      crossings(
        folders,
        'apps/relay/src/a.ts',
        `new URL('${up(3, 'packages/relay/src/test/servers.ts')}', import.meta.url)`,
      ),
    ).toEqual([`${up(3, 'packages/relay/src/test/servers.ts')} (a path into the sources of packages/relay)`])
  })

  it('lets a package import its own files, read another build as data, and the root map names to sources', () => {
    expect(
      crossings(folders, 'packages/client/src/a.ts', `import { b } from './b.js'\nimport '${up(1, 'test/c.js')}'`),
    ).toEqual([])
    expect(
      crossings(folders, 'apps/relay/src/service.ts', `new URL('${up(2, 'demo/dist')}', import.meta.url)`),
    ).toEqual([])
    expect(crossings(folders, 'packages/react/vitest.config.ts', `new URL('./react18/node_modules/', u)`)).toEqual([])
    expect(crossings(folders, 'vitest.config.ts', `source('./packages/relay/src/index.ts')`)).toEqual([])
  })

  it('holds for every tracked source file', () => {
    const folders = packageFolders()
    expect(folders).toContain('apps/relay')
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((file) => sourceExtensions.has(extname(file)))
    const found = files.flatMap((file) =>
      crossings(folders, file, readFileSync(join(root, file), 'utf8')).map((line) => `${file}: ${line}`),
    )
    expect(found).toEqual([])
  })
})
