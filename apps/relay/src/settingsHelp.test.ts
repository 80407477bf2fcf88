import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { flagOf, settings, type SettingSpec } from './settings.js'
import { settingsTableRows, tableInMarkdown, usage, withSettingsTable } from './settingsHelp.js'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const table: readonly SettingSpec[] = settings
const flags = new Set(
  table.flatMap((setting) => [flagOf(setting), ...(setting.secret ? [setting.secret.fileKey] : [])]),
)
const variables = new Set<string>(
  table.flatMap((setting) => [setting.variable, ...(setting.secret ? [setting.secret.fileVariable] : [])]),
)

/** Variables the docs name that are no settings of the relay's configuration, each with where it is read. */
const otherVariables = new Set([
  'CONCORD_STATIC_DIR', // apps/relay/src/main.ts: serve another app's build
  'CONCORD_CHROMIUM', // e2e/ and scripts/preflight.mjs: the browser to test with
  'CONCORD_E2E_LOG', // e2e/: show the relay's logs
])
/** Flags of other commands that docs/ shows beside the relay's. */
const otherFlags = new Set(['name', 'restart', 'data-binary'])

describe('the table of settings', () => {
  it('gives each setting a flag, a variable and a config key of its own', () => {
    const keys = table.map((setting) => setting.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(flags.size).toBe(table.length + table.filter((setting) => setting.secret).length)
    expect(variables.size).toBe(flags.size)
    for (const setting of table) expect(setting.help, setting.key).not.toContain('|')
  })

  it('is what --help lists: every flag, with its variable', () => {
    for (const flag of flags) expect(usage).toMatch(new RegExp(`^ {2}--${flag}\\b`, 'm'))
    for (const variable of variables) expect(usage).toContain(`[${variable}`)
  })

  it('is the README table of flags, row for row (after a change: npx tsx apps/relay/src/settingsHelp.ts --write README.md)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(tableInMarkdown(readme)).toEqual(settingsTableRows())
    expect(tableInMarkdown(withSettingsTable(readme))).toEqual(settingsTableRows())
  })

  it('names every flag and variable that docs/ names for the relay', () => {
    const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'))
    expect(docs.length).toBeGreaterThan(0)
    const unknown: string[] = []
    for (const name of [...docs.map((doc) => join('docs', doc)), 'README.md']) {
      const text = readFileSync(join(root, name), 'utf8')
      for (const [, variable] of text.matchAll(/\b(CONCORD_[A-Z0-9_]+)/g)) {
        if (!variables.has(variable!) && !otherVariables.has(variable!)) unknown.push(`${name}: ${variable}`)
      }
      if (name === 'README.md') continue // it also shows the flags of pnpm, chaos and bench
      for (const [, flag] of text.matchAll(/(?:^|[^\w-])--([a-z][a-z0-9-]*)/g)) {
        if (!flags.has(flag!) && !otherFlags.has(flag!)) unknown.push(`${name}: --${flag}`)
      }
    }
    expect(unknown).toEqual([])
  })
})
