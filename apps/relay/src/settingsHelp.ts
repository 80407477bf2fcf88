/**
 * Owns how the settings are shown to people, both read from the table in
 * settings.ts so that neither can forget one: the `--help` text, and the
 * table of flags in the root README, which a test holds to the table.
 * `npx tsx apps/relay/src/settingsHelp.ts --write README.md` rewrites the
 * README's table (then `npx prettier --write README.md` aligns it).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { flagOf, settings, type SettingSpec } from './settings.js'

const table: readonly SettingSpec[] = settings

/** One line of help per flag: the secret's file form is a flag of its own. */
interface FlagHelp {
  readonly flag: string
  /** `--help` shows this after the flag's help, in brackets: the variable, and the default. */
  readonly note: string
  readonly help: string
  /** The README's cells. */
  readonly cells: readonly [flag: string, variable: string, defaultValue: string, help: string]
}

const placeholderOf = (setting: SettingSpec): string =>
  setting.kind === 'boolean'
    ? ''
    : ` ${setting.placeholder ?? (setting.kind === 'integer' ? '<n>' : setting.kind === 'path' ? '<file>' : '<s>')}`

const defaultOf = (setting: SettingSpec): string | undefined =>
  setting.defaultText ??
  (setting.default === undefined || Array.isArray(setting.default) ? undefined : `\`${String(setting.default)}\``)

const flagHelps = (): FlagHelp[] =>
  table.flatMap((setting): FlagHelp[] => {
    const flag = `--${flagOf(setting)}${placeholderOf(setting)}`
    const shownDefault = defaultOf(setting)
    const variable = setting.kind === 'boolean' ? `${setting.variable}=${String(!setting.default)}` : setting.variable
    const listNote = setting.kind === 'list' ? ', comma-separated' : ''
    const own: FlagHelp = {
      flag,
      note: `${variable}${listNote}${shownDefault === undefined || setting.kind === 'boolean' ? '' : `; default ${shownDefault}`}`,
      help: setting.kind === 'list' ? `${setting.help}; repeat the flag for more` : setting.help,
      cells: [
        `\`${flag}\`${setting.kind === 'list' ? ' (repeat)' : ''}`,
        `\`${variable}\`${setting.kind === 'list' ? ' (comma-separated)' : ''}`,
        shownDefault ?? 'none',
        setting.help,
      ],
    }
    if (!setting.secret) return [own]
    const { fileKey, fileVariable, fileHelp } = setting.secret
    const fileFlag = `--${fileKey} <file>`
    return [
      own,
      {
        flag: fileFlag,
        note: fileVariable,
        help: fileHelp,
        cells: [`\`${fileFlag}\``, `\`${fileVariable}\``, 'none', fileHelp],
      },
    ]
  })

const width = 100
const helpColumn = 38

/**
 * `text` in lines of at most `width`, the first after `first` (padded to the help column), the rest
 * indented to it; `note` whole, at the end of the last line or on a line of its own.
 */
const wrapped = (first: string, text: string, note = ''): string[] => {
  const lines: string[] = []
  if (first.length >= helpColumn) lines.push(first)
  let line = (first.length >= helpColumn ? '' : first).padEnd(helpColumn)
  let empty = true
  for (const word of [...text.split(' '), ...(note ? [note] : [])]) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line)
      line = ' '.repeat(helpColumn)
      empty = true
    }
    line += empty ? word : ` ${word}`
    empty = false
  }
  lines.push(line)
  return lines
}

/** What `concord-relay --help` prints. */
export const usage = [
  'Usage: concord-relay [options]',
  '',
  ...flagHelps().flatMap(({ flag, help, note }) => wrapped(`  ${flag}`, help, `[${note.replaceAll('`', '')}]`)),
  ...wrapped('  --help', 'print this and exit'),
  '',
  '  concord-relay healthcheck [--address-file <file>]',
  ...wrapped('', 'exit 0 if the relay that wrote <file> answers /healthz'),
  '',
  'A config file holds the settings keyed by the flag names ("port", "jwt-secret", ...), its paths',
  'relative to the file; a boolean is true or false ("query-tokens": false, "echo-committed": false),',
  'a list is an array ("allowed-origins": [...], "trusted-proxies": [...]). Flags win over variables,',
  'which win over the file, which wins over the defaults.',
  '',
  'A secret file holds the value alone; line breaks at its end are ignored. Give a setting or its',
  '-file form, not both at one level (flag, variable, config file).',
  '',
  'Without --jwt-secret or --jwt-public-key the relay is open: anyone may read and write any document.',
].join('\n')

/** The README's table of flags, one row per flag, as markdown (prettier aligns it). */
export const settingsTableRows = (): string[][] => [
  ['flag', 'environment', 'default', ''],
  ...flagHelps().map(({ cells }) => [...cells]),
]

export const tableStart =
  '<!-- The table of flags is generated from apps/relay/src/settings.ts: npx tsx apps/relay/src/settingsHelp.ts --write README.md -->'
export const tableEnd = '<!-- end of the generated table of flags -->'

/** The cells of each row of the generated table in `markdown`, the separator row left out. */
export const tableInMarkdown = (markdown: string): string[][] | undefined => {
  const start = markdown.indexOf(tableStart)
  const end = markdown.indexOf(tableEnd)
  if (start < 0 || end < start) return undefined
  return markdown
    .slice(start + tableStart.length, end)
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    )
}

/** `markdown` with its generated table replaced by the table of today's settings. */
export const withSettingsTable = (markdown: string): string => {
  const start = markdown.indexOf(tableStart)
  const end = markdown.indexOf(tableEnd)
  if (start < 0 || end < start) throw new Error(`no "${tableStart}" ... "${tableEnd}" in the file`)
  const [header, ...rows] = settingsTableRows()
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  const body = [line(header!), line(header!.map(() => '---')), ...rows.map(line)].join('\n')
  return `${markdown.slice(0, start + tableStart.length)}\n\n${body}\n\n${markdown.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write' && process.argv[3]) {
  const path = process.argv[3]
  writeFileSync(path, withSettingsTable(readFileSync(path, 'utf8')))
  console.error(`wrote the table of flags into ${path}; now run: npx prettier --write ${path}`)
}
