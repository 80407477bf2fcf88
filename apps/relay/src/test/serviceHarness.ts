/**
 * Owns starting the service in the test's own process: a real HTTP server on
 * an ephemeral loopback port, a real SQLite file in a temp folder, and a
 * pino logger whose JSON lines the test can read.
 */
import { rm } from 'node:fs/promises'
import { pino } from 'pino'
import { makeTempDir } from '@concord/relay/testing'
import { parseConfig } from '../config.js'
import { startService, type Service, type ServiceOptions } from '../service.js'

export interface TestService {
  readonly service: Service
  /** http://127.0.0.1:PORT */
  readonly http: string
  /** Every log line so far, as written (JSON text). */
  readonly logLines: string[]
  /** The log lines parsed. */
  logs(): Array<Record<string, unknown>>
  stop(): Promise<void>
}

export const startTestService = async (args: string[] = [], options: ServiceOptions = {}): Promise<TestService> => {
  const dataDir = await makeTempDir('concord-service-')
  const config = parseConfig(['--port', '0', '--data', dataDir, '--log-level', 'debug', ...args], {}, dataDir)!
  const logLines: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) })
  const service = await startService(config, logger, options)
  let stopped = false
  return {
    service,
    http: service.url.replace('ws://', 'http://'),
    logLines,
    logs: () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      if (stopped) return
      stopped = true
      await service.stop()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** The value of one sample in Prometheus text format, e.g. `concord_updates_stored_total` or `x{mode="native"}`; 0 when absent. */
export const sampleValue = (metrics: string, sample: string): number => {
  const line = metrics.split('\n').find((each) => each.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

export const scrape = async (http: string): Promise<string> => {
  const response = await fetch(`${http}/metrics`)
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
  return response.text()
}

/** Scrapes until `condition` holds for the text (every 20 ms, for at most 5 s), and returns that text. */
export const scrapeUntil = async (http: string, condition: (metrics: string) => boolean): Promise<string> => {
  let metrics = ''
  for (let attempt = 0; attempt < 250; attempt++) {
    metrics = await scrape(http)
    if (condition(metrics)) return metrics
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return metrics
}
