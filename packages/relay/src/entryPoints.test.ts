/**
 * The package's entry points: `@concord/relay` loads no database driver, and
 * each driver entry point loads its own driver only; the SQLite store's worker
 * thread loads no Yjs. Each import runs in a
 * fresh Node process (through tsx, against the sources that dist/ is built
 * from), which reports the drivers in its CommonJS module cache: the three
 * drivers are CommonJS, so loading one, however it is imported, puts it there.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const drivers = ['better-sqlite3', 'pg', 'ioredis'] as const

/**
 * The packages that `module` (a file of this folder) imports for their values, with those of every
 * file of this folder it so imports (`import type` loads nothing, and is left out).
 */
const packagesImportedBy = (module: string, seen = new Set<string>()): Set<string> => {
  const packages = new Set<string>()
  if (seen.has(module)) return packages
  seen.add(module)
  const source = readFileSync(entry(module), 'utf8')
  for (const [, what, from] of source.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    if (what) continue
    if (from!.startsWith('./')) {
      for (const name of packagesImportedBy(from!.slice(2).replace(/\.js$/, ''), seen)) packages.add(name)
    } else packages.add(from!)
  }
  return packages
}
const packageRoot = fileURLToPath(new URL('..', import.meta.url))
const entry = (name: string) => fileURLToPath(new URL(`./${name}.ts`, import.meta.url))

/** The drivers that importing `file` in a fresh process loads. */
const driversLoadedBy = (file: string): string[] => {
  const script = `
    import { createRequire } from 'node:module'
    await import(${JSON.stringify(file)})
    const loaded = Object.keys(createRequire(import.meta.url).cache)
    console.log(JSON.stringify(${JSON.stringify(drivers)}.filter((name) => loaded.some((path) => path.includes('/node_modules/' + name + '/')))))
  `
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: packageRoot,
    encoding: 'utf8',
  })
  return JSON.parse(output.trim().split('\n').at(-1)!) as string[]
}

describe('entry points', () => {
  it('@concord/relay loads none of the database drivers', () => {
    expect(driversLoadedBy(entry('index'))).toEqual([])
  })

  it('@concord/relay/sqlite, /postgres and /redis each load their own driver only', () => {
    // Also shows that the check above can see a driver being loaded.
    expect(driversLoadedBy(entry('sqlite'))).toEqual(['better-sqlite3'])
    expect(driversLoadedBy(entry('postgres'))).toEqual(['pg'])
    expect(driversLoadedBy(entry('redis'))).toEqual(['ioredis'])
  })

  it('@concord/relay/testing loads none on import (a test relay loads better-sqlite3 when it starts on SQLite)', () => {
    expect(driversLoadedBy(entry('testing'))).toEqual([])
  })

  it("the SQLite store's worker thread imports no Yjs (3.5 MiB of that thread's memory)", () => {
    const imported = packagesImportedBy('sqliteStoreWorker')
    expect(imported).toContain('better-sqlite3')
    expect(imported).not.toContain('yjs')
    // The check can see Yjs where a module imports it.
    expect(packagesImportedBy('stateVectorClocks')).toContain('yjs')
  })

  it('maps each entry point of package.json to the dist/ file built from its source', () => {
    const { exports } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, { types: string; import: string }>
    }
    expect(Object.keys(exports)).toEqual(['.', './sqlite', './postgres', './redis', './testing', './testing/servers'])
    // The database servers' module is the one the relay's own tests use; it loads no test framework.
    const sources: Record<string, string> = { '.': 'index', './testing/servers': 'test/servers' }
    for (const [subpath, { types, import: file }] of Object.entries(exports)) {
      const name = sources[subpath] ?? subpath.slice(2)
      expect({ types, file }).toEqual({ types: `./dist/${name}.d.ts`, file: `./dist/${name}.js` })
      expect(() => readFileSync(entry(name))).not.toThrow()
    }
  })
})
