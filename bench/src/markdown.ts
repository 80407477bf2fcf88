/** Owns the Markdown of the report: the servers' labels and order, number formats, tables, ratios. */
import type { ServerKind } from './serverProcess.js'

/** The order of the rows: Concord first, then the servers it is measured against, then the diagnostic variants. */
export const kinds: ServerKind[] = [
  'concord',
  'y-websocket',
  'hocuspocus',
  'bare-ws-corked',
  'bare-ws',
  'concord-memory',
  'concord-sync-normal',
  'concord-no-echo',
  'concord-no-history',
  'concord-baseline',
]

export const label: Record<ServerKind, string> = {
  concord: 'Concord relay',
  'y-websocket': 'y-websocket server',
  hocuspocus: 'Hocuspocus 3.4.4',
  'bare-ws-corked': 'bare ws, corked (upper bound)',
  'bare-ws': 'bare ws, uncorked',
  'concord-memory': 'Concord, memory store (diagnostic)',
  'concord-sync-normal': 'Concord, SQLite synchronous=NORMAL (diagnostic)',
  'concord-no-echo': 'Concord, --no-echo-committed (diagnostic)',
  'concord-no-history': 'Concord, --no-history (diagnostic)',
  'concord-baseline': 'Concord, baseline build (--baseline)',
}

export const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1))
export const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
export const int = (value: number): string => Math.round(value).toLocaleString('en-US')
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a / b) ? 'n/a' : `${(a / b).toFixed(2)}x`

export const table = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')
