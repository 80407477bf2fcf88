/**
 * Owns the rule that the repository is self-contained: no tracked source,
 * config or script file names a relative path that leads outside the
 * repository (as the editing trace outside the repository once was, which broke a fresh clone),
 * nor an absolute path into someone's checkout or home (a path that works on one machine only).
 * A relative path is resolved from the folder of the file that names it.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))

const scanned = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json', '.sh', '.yaml', '.yml'])
const scannedNames = new Set(['Dockerfile', 'run'])

/** A quoted string that is a relative path: `.`, `..`, `./…` or `../…`. */
const relativePathLiteral = /(['"`])(\.\.?(?:\/[^'"`\s]*)?)\1/g

/** The relative paths in `text` (the contents of `file`, relative to `repoRoot`) that resolve outside `repoRoot`. */
const escapingPaths = (repoRoot: string, file: string, text: string): string[] => {
  const folder = resolve(repoRoot, dirname(file))
  const escapes: string[] = []
  for (const match of text.matchAll(relativePathLiteral)) {
    const path = match[2]!
    const inside = relative(repoRoot, resolve(folder, path))
    if (inside === '..' || inside.startsWith('../') || isAbsolute(inside)) escapes.push(path)
  }
  return escapes
}

/** Where checkouts and people's files live: an absolute path under one of these works on one machine only. */
const machineFolders = ['/home/', '/Users/', '/root/', '/work/', '/mnt/', '/workspace/']

/** A quoted string that is an absolute path. */
const absolutePathLiteral = /(['"`])(\/[^'"`\s]*)\1/g

/**
 * The absolute paths in `text` that lead into the folder holding the repository (`repoRoot`'s parent,
 * so the repository itself too) or into a folder where checkouts and homes live.
 */
const machinePaths = (repoRoot: string, text: string): string[] => {
  const parent = `${dirname(repoRoot)}/`
  return (
    [...text.matchAll(absolutePathLiteral)]
      .map((match) => match[2]!)
      // Into a folder: the folder's own name (as in the list above) leads nowhere.
      .filter((path) => [parent, ...machineFolders].some((folder) => path.startsWith(folder) && path !== folder))
  )
}

const trackedFiles = (): string[] =>
  execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && (scanned.has(extname(file)) || scannedNames.has(basename(file))))

// Built with join so that this file does not name the escapes it tests for.
const up = (levels: number, rest: string) => join(...Array<string>(levels).fill('..'), rest)

describe('the repository is self-contained', () => {
  it('flags a relative path that climbs above the repository root, in any quotes', () => {
    const trace = up(4, 'shared/data/automerge-paper.json.gz')
    expect(
      escapingPaths('/repo', 'packages/relay/src/a.test.ts', `readFileSync(new URL('${trace}', import.meta.url))`),
    ).toEqual([trace])
    expect(escapingPaths('/repo', 'bench/src/trace.ts', `const f = "${up(3, 'x')}"`)).toEqual([up(3, 'x')])
    expect(escapingPaths('/repo', 'vitest.config.ts', 'source(`..`)')).toEqual(['..'])
  })

  it('lets relative paths that stay inside pass: imports, tsconfig extends, the in-repo traces', () => {
    const text = [
      `import { a } from './a.js'`,
      `import { b } from '${up(2, 'protocol/src/index.js')}'`,
      `"extends": "${up(2, 'tsconfig.base.json')}"`,
      `new URL('${up(3, 'testdata/traces/automerge-paper.json.gz')}', import.meta.url)`,
      `new URL('.', import.meta.url)`,
      `cd "$(dirname "\${BASH_SOURCE[0]}")/.."`,
    ].join('\n')
    expect(escapingPaths('/repo', 'packages/relay/src/yjsUpdates.test.ts', text)).toEqual([])
  })

  it('flags an absolute path into the checkout, beside it, or into a home; lets system and URL paths pass', () => {
    const text = [
      `readFileSync('/srv/${'checkouts'}/concord/testdata/a.gz')`,
      `readFileSync('/srv/${'checkouts'}/shared/data/a.gz')`,
      `const home = "/home/${'ada'}/trace.json"`,
      `const postgres = '/usr/lib/postgresql'`,
      `fetch(\`\${url}/v1/documents\`)`,
      `const status = '/proc/self/status'`,
    ].join('\n')
    expect(machinePaths('/srv/checkouts/concord', text)).toEqual([
      `/srv/${'checkouts'}/concord/testdata/a.gz`,
      `/srv/${'checkouts'}/shared/data/a.gz`,
      `/home/${'ada'}/trace.json`,
    ])
  })

  it('no tracked file names a path outside the repository', () => {
    const files = trackedFiles()
    expect(files.length).toBeGreaterThan(100)
    const found = files.flatMap((file) => {
      const text = readFileSync(join(root, file), 'utf8')
      return [...escapingPaths(root, file, text), ...machinePaths(root, text)].map((path) => `${file}: ${path}`)
    })
    expect(found).toEqual([])
  })
})
