/**
 * Owns the service's Prometheus metrics: a registry of its own (so that
 * several services, in tests, never share counters), the relay's observer
 * that feeds it, gauges read from the relay and from the readiness checks
 * at each scrape, and Node's process metrics. Labels are bounded: wire
 * mode, close code, store operation, dependency; never a document name.
 */
import { closeCodeName } from '@concord/protocol'
import type { RelayObserver, RelayStats, WireMode } from '@concord/relay'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { runChecks, type ReadinessCheck } from './readiness.js'

export interface RelayMetrics {
  readonly registry: Registry
  /** Pass to createRelay. */
  readonly observer: RelayObserver
  /** The text a scrape of /metrics gets. */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>
}

export interface RelayMetricsOptions {
  /** The relay's connections and loaded documents, read at each scrape. */
  readonly stats: () => RelayStats
  /** Run at each scrape for `concord_dependency_up`. */
  readonly checks: readonly ReadinessCheck[]
}

/**
 * Codes a client may report that are not in closeCodes: RFC 6455's 1005 (no status) and 1006 (dropped
 * without a close frame), and 4408, which @concord/client closes with when it heard nothing for too long.
 */
const clientOnlyCodes = new Set([1005, 1006, 4408])

/** Close codes other than the documented ones (a client may send any from 3000 to 4999) share one label value. */
const closeCodeLabel = (code: number): string =>
  closeCodeName(code) !== undefined || clientOnlyCodes.has(code) ? String(code) : 'other'

export const createRelayMetrics = ({ stats, checks }: RelayMetricsOptions): RelayMetrics => {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  new Gauge({
    name: 'concord_connections',
    help: 'WebSocket connections open now',
    registers,
    collect() {
      this.set(stats().connections)
    },
  })
  new Gauge({
    name: 'concord_documents_loaded',
    help: 'Documents loaded in memory now (each has a connection, or had one in the last unload delay)',
    registers,
    collect() {
      this.set(stats().documents)
    },
  })
  new Gauge({
    name: 'concord_queued_bytes',
    help: 'Bytes of frames waiting for their document to load, in every document (capped by maxQueuedBytes)',
    registers,
    collect() {
      this.set(stats().queuedBytes)
    },
  })
  new Gauge({
    name: 'concord_dependency_up',
    help: 'Whether each dependency answered its readiness check at this scrape (1) or not (0)',
    labelNames: ['dependency'],
    registers,
    async collect() {
      for (const { name, ok } of await runChecks(checks)) this.set({ dependency: name }, ok ? 1 : 0)
    },
  })
  const opened = new Counter({
    name: 'concord_connections_opened_total',
    help: 'WebSocket connections accepted',
    labelNames: ['mode'],
    registers,
  })
  const closed = new Counter({
    name: 'concord_connections_closed_total',
    help: 'WebSocket connections closed, by close code and by who closed them (relay or client)',
    labelNames: ['mode', 'code', 'by'],
    registers,
  })
  // Counted in plain numbers and handed to prom-client at each scrape: these run for every frame,
  // and prom-client hashes the labels of every inc (9% of the relay's busy time at 160,000 frames/s).
  const trafficCounter = (name: string, help: string): Record<WireMode, number> => {
    const counts: Record<WireMode, number> = { native: 0, 'y-websocket': 0 }
    new Counter({
      name,
      help,
      labelNames: ['mode'],
      registers,
      collect() {
        this.reset()
        for (const [mode, count] of Object.entries(counts)) if (count > 0) this.inc({ mode }, count)
      },
    })
    return counts
  }
  const messagesIn = trafficCounter('concord_messages_received_total', 'WebSocket messages received')
  const bytesIn = trafficCounter('concord_received_bytes_total', 'Bytes of WebSocket messages received')
  const messagesOut = trafficCounter('concord_messages_sent_total', 'WebSocket messages sent')
  const bytesOut = trafficCounter('concord_sent_bytes_total', 'Bytes of WebSocket messages sent')
  // In plain numbers too: one of each for every update stored.
  const plainCounter = (name: string, help: string): { value: number } => {
    const count = { value: 0 }
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset()
        if (count.value > 0) this.inc(count.value)
      },
    })
    return count
  }
  const updatesStored = plainCounter('concord_updates_stored_total', 'Updates appended durably to the store')
  const storedBytes = plainCounter('concord_stored_bytes_total', 'Bytes of updates appended durably to the store')
  const storeErrors = new Counter({
    name: 'concord_store_errors_total',
    help: 'Store operations that failed, by operation (load, append, compact)',
    labelNames: ['operation'],
    registers,
  })
  const hookFailures = new Counter({
    name: 'concord_hook_failures_total',
    help: 'Calls of a hook (loadDocument, onChange) that threw, returned something invalid or timed out',
    labelNames: ['hook'],
    registers,
  })
  const quarantined = new Counter({
    name: 'concord_quarantined_total',
    help: 'Updates kept aside and not served, by where they came from: the store (they contradict earlier updates, or do not merge) or another relay',
    labelNames: ['from'],
    registers,
  })
  const versionsThinned = new Counter({
    name: 'concord_versions_thinned_total',
    help: 'Old automatic versions that retention deleted',
    registers,
  })
  const thinningFailures = new Counter({
    name: 'concord_thinning_failures_total',
    help: 'Retention passes that could not list the documents, or list or delete the versions of one',
    registers,
  })
  const ackLatency = new Histogram({
    name: 'concord_ack_latency_seconds',
    help: 'Native mode: time from receiving an update frame to sending the ack that covers it',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })

  const observer: RelayObserver = {
    connectionOpened: (mode) => opened.inc({ mode }),
    connectionClosed: (mode, code, by) => closed.inc({ mode, code: closeCodeLabel(code), by }),
    messageReceived: (mode, bytes) => {
      messagesIn[mode]++
      bytesIn[mode] += bytes
    },
    messageSent: (mode, bytes) => {
      messagesOut[mode]++
      bytesOut[mode] += bytes
    },
    updateStored: (bytes) => {
      updatesStored.value++
      storedBytes.value += bytes
    },
    storeFailed: (operation) => storeErrors.inc({ operation }),
    updateQuarantined: (from) => quarantined.inc({ from }),
    updateAcknowledged: (seconds) => ackLatency.observe(seconds),
    hookFailed: (hook) => hookFailures.inc({ hook }),
    versionsThinned: (count) => versionsThinned.inc(count),
    thinningFailed: () => thinningFailures.inc(),
  }

  return {
    registry,
    observer,
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  }
}
