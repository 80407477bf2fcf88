/**
 * Owns the relays of one run: one relay on SQLite, or (`--cluster`) two or
 * three relay processes on one PostgreSQL and one redis-server, each relay
 * reaching Redis and PostgreSQL through its own link proxy so the schedule
 * can cut, stall, delay or drop on those links. It stops and restarts
 * relays, injects the database faults, and reads the stored documents with
 * the relay's own store classes.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { servedState, type DocStore } from '@concord/relay'
import { PostgresDocStore } from '@concord/relay/postgres'
import { SqliteDocStore } from '@concord/relay/sqlite'
import { startPostgres, startRedis, type PostgresServer, type RedisServer } from '@concord/relay/testing/servers'
import { relayStorePath, type RelayProcess } from '@concord/relay-service/testing'
import * as Y from 'yjs'
import { LinkProxy } from './linkProxy.js'
import { processCpuMs } from './processCpu.js'
import { startHarnessRelay, type RelayVariant } from './harnessRelay.js'
import type { DocStoreFault } from './storageFaults.js'
import type { ClusterFault } from './schedule.js'

export interface RelayFleetOptions {
  readonly workDir: string
  /** 1: one relay on SQLite; 2 or 3: cluster mode. */
  readonly relays: number
  readonly jwtSecret?: string | undefined
  /** Single-relay mode: run the relay with a fault-injecting DocStore. */
  readonly variant?: RelayVariant | undefined
  /** Single-relay mode, with `variant.faultyStore`: DocStore faults armed at every start (the leak sabotage). */
  readonly faultsAtEveryStart?: readonly DocStoreFault[] | undefined
}

interface Slot {
  readonly dir: string
  process: RelayProcess | undefined
  startedAt: number
  /** Cluster mode: this relay's links to Redis and PostgreSQL. */
  readonly redisLink?: LinkProxy
  readonly postgresLink?: LinkProxy
  /** Store faults armed while the relay was down, for its next start. */
  readonly armAtStart: DocStoreFault[]
}

export class RelayFleet {
  readonly #options: RelayFleetOptions
  readonly #slots: Slot[]
  readonly #postgres: PostgresServer | undefined
  readonly #redis: RedisServer | undefined
  /** What each relay's resident set was just after its last start. */
  readonly startRss: Array<number | undefined>

  private constructor(options: RelayFleetOptions, slots: Slot[], postgres?: PostgresServer, redis?: RedisServer) {
    this.#options = options
    this.#slots = slots
    this.#postgres = postgres
    this.#redis = redis
    this.startRss = slots.map(() => undefined)
  }

  static async start(options: RelayFleetOptions): Promise<RelayFleet> {
    const cluster = options.relays > 1
    const postgres = cluster ? await startPostgres() : undefined
    const redis = cluster ? await startRedis() : undefined
    const slots: Slot[] = []
    for (let i = 0; i < options.relays; i++) {
      const dir = join(options.workDir, options.relays > 1 ? `relay-${i}` : 'relay')
      await mkdir(dir, { recursive: true })
      slots.push({
        dir,
        process: undefined,
        startedAt: 0,
        armAtStart: [],
        ...(redis && { redisLink: await LinkProxy.start(redis.port, { resp: true }) }),
        ...(postgres && { postgresLink: await LinkProxy.start(postgres.port) }),
      })
    }
    const fleet = new RelayFleet(options, slots, postgres, redis)
    for (let i = 0; i < slots.length; i++) await fleet.restart(i)
    return fleet
  }

  get count(): number {
    return this.#slots.length
  }

  get cluster(): boolean {
    return this.#slots.length > 1
  }

  /** The folder of relay 0's SQLite store (single-relay mode). */
  get sqliteDir(): string {
    return this.#slots[0]!.dir
  }

  alive(index: number): boolean {
    return this.#slots[index]?.process?.alive === true
  }

  port(index: number): number | undefined {
    return this.#slots[index]?.process?.port
  }

  startedAt(index: number): number {
    return this.#slots[index]!.startedAt
  }

  /** The relays that run, by index. */
  running(): number[] {
    return this.#slots.flatMap((_, i) => (this.alive(i) ? [i] : []))
  }

  rss(index: number): number | undefined {
    return this.#slots[index]?.process?.rss()
  }

  /** Relay `index`'s process id and the CPU time it has used so far (ms); undefined while it is down. */
  cpu(index: number): { pid: number; ms: number } | undefined {
    const process = this.#slots[index]?.process
    const ms = process?.alive ? processCpuMs(process.pid) : undefined
    return process && ms !== undefined ? { pid: process.pid, ms } : undefined
  }

  /** Stops relay `index`; resolves false when it did not exit within 30 s of a SIGTERM (then it was killed). */
  async stop(index: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<boolean> {
    const slot = this.#slots[index]!
    const stopping = slot.process
    slot.process = undefined
    return (await stopping?.stop(signal)) ?? true
  }

  /** Starts relay `index` if it is down; resolves with its port. */
  async restart(index: number): Promise<number> {
    const slot = this.#slots[index]!
    if (slot.process?.alive) return slot.process.port
    const args: string[] = []
    if (this.#postgres && slot.postgresLink && slot.redisLink) {
      args.push('--store', this.#postgres.urlThrough(slot.postgresLink.port))
      args.push('--redis', `redis://127.0.0.1:${slot.redisLink.port}`, '--cluster-heartbeat-ms', '1000')
    }
    if (this.#options.jwtSecret !== undefined) args.push('--jwt-secret', this.#options.jwtSecret)
    // A relay refuses to start while Redis or PostgreSQL is down; its supervisor tries again.
    for (let attempt = 1; ; attempt++) {
      try {
        slot.process = await startHarnessRelay(slot.dir, args, this.cluster ? undefined : this.#options.variant)
        break
      } catch (error) {
        if (attempt >= 60) throw error
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
    slot.startedAt = Date.now()
    this.startRss[index] = slot.process.rss()
    for (const fault of this.cluster ? [] : (this.#options.faultsAtEveryStart ?? [])) slot.process.send(fault)
    for (const fault of slot.armAtStart.splice(0)) slot.process.send(fault)
    return slot.process.port
  }

  /** Injects a database fault; resolves with a line for the log. */
  async inject(fault: ClusterFault): Promise<string> {
    switch (fault.target) {
      case 'redis':
        if (fault.fault === 'kill') await this.#redis?.halt()
        else await this.#redis?.resume()
        return `${fault.fault} redis-server`
      case 'postgres':
        await this.#postgres?.crash()
        return 'restarted PostgreSQL'
      case 'redisLink': {
        const link = this.#slots[fault.relay]?.redisLink
        if (!link) return 'no redis link'
        if (fault.fault === 'cut') link.cut()
        else if (fault.fault === 'stall') link.stall()
        else if (fault.fault === 'delay') link.delayMs = fault.delayMs
        else if (fault.fault === 'drop') link.dropping = true
        else {
          const dropped = link.dropped
          link.dropped = 0
          link.heal()
          return `healed the redis link of relay ${fault.relay} (${dropped} pub/sub messages dropped)`
        }
        return `${fault.fault} the redis link of relay ${fault.relay}`
      }
      case 'postgresLink': {
        const link = this.#slots[fault.relay]?.postgresLink
        if (!link) return 'no postgres link'
        if (fault.fault === 'stall') link.stall()
        else link.heal()
        return `${fault.fault} the postgres link of relay ${fault.relay}`
      }
    }
  }

  /**
   * Arms a fault of relay `index`'s DocStore: now, or at its next start if it is down (then the
   * fault takes the load and appends of its first documents). False when it has no faulty store.
   */
  injectStoreFault(index: number, fault: DocStoreFault): 'now' | 'at its next start' | false {
    if (this.cluster || this.#options.variant?.faultyStore !== true) return false
    const slot = this.#slots[index]!
    if (slot.process?.send(fault)) return 'now'
    slot.armAtStart.push(fault)
    return 'at its next start'
  }

  /** Heals every database link and starts redis-server if it is down. */
  async healDatabases(): Promise<void> {
    for (const slot of this.#slots) {
      slot.redisLink?.heal()
      slot.postgresLink?.heal()
    }
    if (this.#redis && !this.#redis.running) await this.#redis.resume()
  }

  /**
   * The documents as stored, read with the relay's own store: the SQLite file of the one relay
   * (only while it is down), or the shared PostgreSQL (at any time).
   */
  async readStore(documents: readonly string[]): Promise<Map<string, Y.Doc>> {
    // PostgreSQL may be restarting (a scheduled fault): try again for a while.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#readStoreOnce(documents)
      } catch (error) {
        if (!this.#postgres || attempt >= 40) throw error
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
  }

  async #readStoreOnce(documents: readonly string[]): Promise<Map<string, Y.Doc>> {
    const store: DocStore = this.#postgres
      ? await PostgresDocStore.open(this.#postgres.url, { onError: () => {} })
      : new SqliteDocStore(relayStorePath(this.sqliteDir))
    const docs = new Map<string, Y.Doc>()
    try {
      for (const name of documents) {
        const updates = await store.load(name)
        // A cluster's relays may both have stored content under one id: read the log as they load it.
        if (this.#postgres && updates.length > 0) {
          try {
            const served = new Y.Doc()
            Y.applyUpdate(served, servedState(updates)!)
            docs.set(name, served)
            continue
          } catch {
            // Read as before, then, and the checks count what does not integrate.
          }
        }
        const doc = new Y.Doc()
        try {
          if (updates.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(updates))
        } catch {
          // One by one, then: an update that does not integrate must not hide the others.
          for (const update of updates) {
            try {
              Y.applyUpdate(doc, update)
            } catch {
              // Counted by the checks as missing writes.
            }
          }
        }
        docs.set(name, doc)
      }
    } finally {
      await store.close()
    }
    return docs
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.process?.stop('SIGKILL')))
    for (const slot of this.#slots) {
      await slot.redisLink?.close()
      await slot.postgresLink?.close()
    }
    await this.#redis?.stop()
    await this.#postgres?.stop()
  }
}
