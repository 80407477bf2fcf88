/**
 * Owns the fan-out between relays over Redis pub/sub (ioredis): one channel
 * per document, one subscriber connection and one publishing connection per
 * relay. A message is this relay's id, a stream number (one per document
 * membership), a sequence number within the stream and what it carries
 * (fanoutMessage.ts): what a document publishes in one event-loop turn goes
 * out as one message, in order.
 *
 * Redis pub/sub may drop messages, so nothing depends on it delivering all
 * of them: a receiver that sees a sequence gap, a subscriber that
 * reconnects, and every member of a publisher that reconnects resync the
 * document from the store. Updates are published only once durable, so the
 * store always holds what a dropped message carried.
 *
 * A deletion is published outside every stream (stream and sequence 0, no
 * payload): the receiving relay checks the tombstone in the store, refuses
 * its peers and drops the document, so there is nothing left to keep in
 * order.
 *
 * Each relay also keeps a heartbeat key with a TTL. A relay whose key has
 * expired is gone: the presence of its clients is removed everywhere, at
 * most heartbeatTtlMs + heartbeatIntervalMs after its last heartbeat.
 */
import { randomUUID } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { FanoutUnavailableError } from './errors.js'
import type { Fanout, FanoutLink, FanoutMember } from './fanout.js'
import { decodeMessage, encodeBatch, encodeDeletion, kinds, type Entry, type Message } from './fanoutMessage.js'
import { silentLogger, type Logger } from './logger.js'

export interface RedisFanoutOptions {
  readonly logger?: Logger
  /** This relay's id in the cluster. Default: a random UUID (a restarted relay is a new relay). */
  readonly relayId?: string
  /** How often this relay renews its heartbeat key and checks the others'. Default: 5 s. */
  readonly heartbeatIntervalMs?: number
  /** How long a heartbeat key lives. Default: 15 s. */
  readonly heartbeatTtlMs?: number
  /** Prefix of every channel and key. Default: `concord:`. */
  readonly keyPrefix?: string
}

/**
 * A batch is sent before the turn ends once its updates reach this many bytes: Redis disconnects a
 * subscriber whose output buffer passes 32 MB (client-output-buffer-limit pubsub), so no one
 * message should come near it.
 */
const maxBatchBytes = 1 << 20

interface Membership {
  readonly doc: string
  readonly member: FanoutMember
  /** This relay's stream for the document, and the last sequence number it used. */
  readonly stream: number
  seq: number
  /** `relayId/stream` of each other relay's stream seen on this document → the last sequence number seen. */
  readonly seen: Map<string, number>
  /** What this turn published and is not sent yet: sequence numbers `seq - pending.length + 1` to `seq`. */
  pending: Entry[]
  pendingBytes: number
}

const connectionOptions = {
  lazyConnect: true,
  // Fail fast while disconnected; what is lost is recovered from the store.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // Resubscribed by hand on 'ready', so the resync runs after the subscriptions are back.
  autoResubscribe: false,
  retryStrategy: (times: number) => Math.min(times * 100, 2_000),
} satisfies RedisOptions

export class RedisFanout implements Fanout {
  readonly relayId: string
  readonly #publisher: Redis
  readonly #subscriber: Redis
  readonly #logger: Logger
  readonly #prefix: string
  readonly #ttlMs: number
  readonly #docs = new Map<string, Membership>()
  /** Other relays whose clients may have presence here. */
  readonly #remoteRelays = new Set<string>()
  readonly #heartbeat: NodeJS.Timeout
  #streams = 0
  /** The memberships with entries queued this turn, in the order they first published. */
  readonly #queued = new Set<Membership>()
  #sendScheduled = false
  /** When both connections were last (re)established: heartbeat keys are not judged before one TTL after it. */
  #connectedAt = Date.now()
  #closed = false

  private constructor(publisher: Redis, subscriber: Redis, options: RedisFanoutOptions) {
    this.relayId = options.relayId ?? randomUUID()
    this.#publisher = publisher
    this.#subscriber = subscriber
    this.#logger = options.logger ?? silentLogger
    this.#prefix = options.keyPrefix ?? 'concord:'
    this.#ttlMs = options.heartbeatTtlMs ?? 15_000
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#receive(channel, message))
    for (const [name, connection] of [
      ['publisher', publisher],
      ['subscriber', subscriber],
    ] as const) {
      // While Redis stays down, ioredis fails again every 2 s: warn once per outage, the retries at debug.
      let connected = connection.status === 'ready'
      let warned = false
      connection.on('error', (error: Error) => {
        this.#logger[warned ? 'debug' : 'warn']({ err: error, connection: name }, 'redis error')
        warned = true
      })
      connection.on('close', () => {
        if (connected && !this.#closed) this.#logger.warn({ connection: name }, 'redis connection lost')
        connected = false
      })
      connection.on('ready', () => {
        connected = true
        warned = false
        this.#logger.info({ connection: name }, 'redis connected')
      })
    }
    // 'ready' fires again after every reconnect.
    subscriber.on('ready', () => void this.#subscriberReconnected())
    publisher.on('ready', () => void this.#publisherReconnected())
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatIntervalMs ?? 5_000)
    this.#heartbeat.unref()
    void this.#beat()
  }

  /** Connects to `url` (redis://[:password@]host:port[/db]). Rejects with a FanoutUnavailableError if Redis cannot be reached. */
  static async connect(url: string, options: RedisFanoutOptions = {}): Promise<RedisFanout> {
    const publisher = new Redis(url, connectionOptions)
    const subscriber = new Redis(url, connectionOptions)
    // Errors before the first connection are reported by connect() below.
    const ignore = (): void => {}
    publisher.on('error', ignore)
    subscriber.on('error', ignore)
    try {
      await Promise.all([publisher.connect(), subscriber.connect()])
    } catch (error) {
      publisher.disconnect()
      subscriber.disconnect()
      throw new FanoutUnavailableError(`cannot connect to Redis: ${(error as Error).message}`, { cause: error })
    } finally {
      publisher.off('error', ignore)
      subscriber.off('error', ignore)
    }
    return new RedisFanout(publisher, subscriber, options)
  }

  /**
   * Starts connecting to `url` and returns at once, for a relay that must come up while Redis is
   * down: until Redis answers, the fan-out is down as in an outage (ping rejects, so /readyz fails;
   * nothing is published; clients on this relay still see each other), and ioredis retries with
   * backoff (100 ms more each time, at most 2 s apart). Once both connections are ready the
   * documents already open subscribe and resync from the store, as after any reconnect.
   */
  static start(url: string, options: RedisFanoutOptions = {}): RedisFanout {
    const publisher = new Redis(url, connectionOptions)
    const subscriber = new Redis(url, connectionOptions)
    const fanout = new RedisFanout(publisher, subscriber, options)
    // A failed first attempt rejects connect(); the retries go on (and log) all the same.
    for (const connection of [publisher, subscriber]) connection.connect().catch(() => {})
    return fanout
  }

  join(doc: string, member: FanoutMember): FanoutLink {
    const membership: Membership = {
      doc,
      member,
      stream: ++this.#streams,
      seq: 0,
      seen: new Map(),
      pending: [],
      pendingBytes: 0,
    }
    this.#docs.set(doc, membership)
    const channel = this.#channel(doc)
    const ready =
      this.#subscriber.status === 'ready'
        ? this.#subscriber.subscribe(channel).then(
            // Ask the relays already there for their clients' presence.
            () => this.#publish(membership, { kind: kinds.query }),
            (error: unknown) => this.#logger.warn({ err: error, doc }, 'could not subscribe; will resync on reconnect'),
          )
        : Promise.resolve()
    return {
      ready,
      publishUpdate: (update, row) => this.#publish(membership, { kind: kinds.update, update, row }),
      publishAwareness: (update) => this.#publish(membership, { kind: kinds.awareness, update }),
      leave: () => {
        if (this.#docs.get(doc) !== membership) return
        // What it published this turn still goes out, before the channel is left.
        this.#send(membership)
        this.#docs.delete(doc)
        if (this.#subscriber.status === 'ready') {
          this.#subscriber.unsubscribe(channel).catch((error: unknown) => {
            this.#logger.debug({ err: error, doc }, 'could not unsubscribe')
          })
        }
      },
    }
  }

  publishDeletion(doc: string): void {
    // Sent after this turn's updates of the document, which the receivers would otherwise drop with it.
    const membership = this.#docs.get(doc)
    if (membership) this.#send(membership)
    if (this.#closed || this.#publisher.status !== 'ready') return
    this.#publisher.publish(this.#channel(doc), encodeDeletion(this.relayId)).catch((error: unknown) => {
      this.#logger.debug({ err: error, doc }, 'could not publish a deletion; other relays find the tombstone')
    })
  }

  async ping(): Promise<void> {
    if (this.#subscriber.status !== 'ready') throw new FanoutUnavailableError('the Redis subscriber is not connected')
    await this.#publisher.ping()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#sendAll()
    this.#closed = true
    clearInterval(this.#heartbeat)
    this.#docs.clear()
    await this.#publisher.del(this.#heartbeatKey(this.relayId)).catch(() => {})
    this.#publisher.disconnect()
    this.#subscriber.disconnect()
  }

  #channel(doc: string): string {
    return `${this.#prefix}doc:${doc}`
  }

  #heartbeatKey(relayId: string): string {
    return `${this.#prefix}relay:${relayId}`
  }

  /**
   * Gives `entry` the stream's next sequence number and queues it: everything a document publishes
   * in one event-loop turn goes out as one batch message once the turn's I/O callbacks have run (as
   * the relay's sockets are corked for a turn), the documents' batches in one pipeline.
   */
  #publish(membership: Membership, entry: Entry): void {
    // Counted even when it cannot be sent: receivers then see the gap at the next message.
    membership.seq++
    if (this.#closed || this.#publisher.status !== 'ready') {
      // The entries before it cannot share a message with those after it: the numbers would not follow.
      this.#send(membership)
      return
    }
    membership.pending.push(entry)
    this.#queued.add(membership)
    if (entry.kind === kinds.update || entry.kind === kinds.awareness) membership.pendingBytes += entry.update.length
    if (membership.pendingBytes >= maxBatchBytes) this.#send(membership)
    else if (!this.#sendScheduled) {
      this.#sendScheduled = true
      setImmediate(() => this.#sendAll())
    }
  }

  /** Sends the batches queued this turn, in the order their documents first published; several in one pipeline. */
  #sendAll(): void {
    this.#sendScheduled = false
    // A batch sent early (it grew too large, its document left or was deleted) is sent no second time.
    const queued = [...this.#queued].filter((membership) => membership.pending.length > 0)
    this.#queued.clear()
    if (queued.length === 0) return
    if (queued.length === 1 || this.#closed || this.#publisher.status !== 'ready') {
      for (const membership of queued) this.#send(membership)
      return
    }
    const pipeline = this.#publisher.pipeline()
    for (const membership of queued) pipeline.publish(this.#channel(membership.doc), this.#takeBatch(membership))
    pipeline.exec().catch((error: unknown) => {
      this.#logger.debug({ err: error }, 'could not publish; receivers will resync')
    })
  }

  /** Sends the document's queued entries now (if any), ahead of whatever follows on the connection. */
  #send(membership: Membership): void {
    if (membership.pending.length === 0) return
    const batch = this.#takeBatch(membership)
    // Dropped when it cannot be sent: its sequence numbers are spent, so receivers see the gap.
    if (this.#closed || this.#publisher.status !== 'ready') return
    this.#publisher.publish(this.#channel(membership.doc), batch).catch((error: unknown) => {
      this.#logger.debug({ err: error, doc: membership.doc }, 'could not publish; receivers will resync')
    })
  }

  #takeBatch(membership: Membership): Buffer {
    const { pending } = membership
    membership.pending = []
    membership.pendingBytes = 0
    return encodeBatch(this.relayId, membership.stream, membership.seq - pending.length + 1, pending)
  }

  #receive(channel: Buffer, bytes: Buffer): void {
    const name = channel.toString()
    if (!name.startsWith(this.#prefix)) return
    const doc = name.slice(this.#prefix.length + 'doc:'.length)
    const membership = this.#docs.get(doc)
    if (!membership) return
    let message: Message
    try {
      message = decodeMessage(bytes)
    } catch (error) {
      this.#logger.warn({ err: error, doc }, 'dropped a fan-out message that does not decode')
      return
    }
    if (message.relayId === this.relayId) return
    this.#remoteRelays.add(message.relayId)
    if (message.kind === kinds.deleted) {
      this.#logger.debug({ doc, relayId: message.relayId }, 'another relay deleted the document: checking the store')
      membership.member.applyRemoteDeletion()
      return
    }
    const stream = `${message.relayId}/${message.stream}`
    const last = membership.seen.get(stream)
    // A stream first seen past its start may have lost messages since this relay subscribed.
    let gap = last === undefined ? message.seq !== 1 : message.seq !== last + 1
    membership.seen.set(stream, message.last)
    if (message.malformed) {
      this.#logger.warn({ err: message.malformed, doc }, 'dropped a fan-out message that does not decode')
      gap = true
    }
    const { member } = membership
    for (const entry of message.entries) {
      switch (entry.kind) {
        case kinds.update:
          member.applyRemote(entry.update, message.relayId, entry.row)
          break
        case kinds.awareness:
          member.applyRemoteAwareness(message.relayId, entry.update)
          break
        case kinds.query: {
          const presence = member.localPresence()
          if (presence) this.#publish(membership, { kind: kinds.awareness, update: presence })
          break
        }
        case kinds.resync:
          gap = true
          break
      }
    }
    if (gap) {
      this.#logger.debug({ doc, stream, seq: message.seq, last }, 'fan-out gap: resyncing from the store')
      member.resync()
    }
  }

  async #subscriberReconnected(): Promise<void> {
    this.#connectedAt = Date.now()
    const docs = [...this.#docs.keys()]
    if (this.#closed || docs.length === 0) return
    try {
      await this.#subscriber.subscribe(...docs.map((doc) => this.#channel(doc)))
    } catch (error) {
      // The next reconnect tries again.
      this.#logger.warn({ err: error }, 'could not resubscribe after a reconnect')
      return
    }
    this.#logger.info({ documents: docs.length }, 'redis subscriber back: resyncing documents from the store')
    for (const doc of docs) this.#docs.get(doc)?.member.resync()
    this.#refreshPresence()
  }

  async #publisherReconnected(): Promise<void> {
    this.#connectedAt = Date.now()
    await this.#beat()
    // What this relay published while disconnected was lost: have the others resync.
    for (const membership of this.#docs.values()) this.#publish(membership, { kind: kinds.resync })
    this.#refreshPresence()
  }

  /**
   * Once both connections are back after an outage: presence changed meanwhile on either side went
   * unheard, so ask the other relays for their clients' presence and tell them ours, rather than wait
   * for the clients' next renewals (15 s for y-websocket providers). Runs after whichever of the two
   * connections comes back last.
   */
  #refreshPresence(): void {
    if (this.#closed || this.#subscriber.status !== 'ready' || this.#publisher.status !== 'ready') return
    for (const membership of this.#docs.values()) {
      this.#publish(membership, { kind: kinds.query })
      const presence = membership.member.localPresence()
      if (presence) this.#publish(membership, { kind: kinds.awareness, update: presence })
    }
  }

  async #beat(): Promise<void> {
    if (this.#closed || this.#publisher.status !== 'ready') return
    try {
      await this.#publisher.set(this.#heartbeatKey(this.relayId), '1', 'PX', this.#ttlMs)
      // Right after (re)connecting, keys may be missing only because Redis restarted empty.
      if (Date.now() - this.#connectedAt < this.#ttlMs) return
      const relays = [...this.#remoteRelays]
      if (relays.length === 0) return
      const alive = await Promise.all(relays.map((relayId) => this.#publisher.exists(this.#heartbeatKey(relayId))))
      for (const [i, relayId] of relays.entries()) {
        if (alive[i]) continue
        this.#logger.info({ relayId }, 'relay heartbeat expired: removing the presence of its clients')
        this.#remoteRelays.delete(relayId)
        for (const membership of this.#docs.values()) {
          for (const stream of membership.seen.keys())
            if (stream.startsWith(`${relayId}/`)) membership.seen.delete(stream)
          membership.member.removeRelay(relayId)
        }
      }
    } catch (error) {
      this.#logger.debug({ err: error }, 'heartbeat failed')
    }
  }
}
