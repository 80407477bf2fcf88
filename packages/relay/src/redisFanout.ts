/**
 * Owns the fan-out between relays over Redis pub/sub (ioredis): one channel
 * per document, one subscriber connection and one publishing connection per
 * relay. A message is this relay's id, a stream number (one per document
 * membership), a sequence number within the stream, a kind and a payload.
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
import { decodeWhole, ProtocolError, readBoundedVarUint, readSafeVarUint } from '@concord/protocol'
import { Redis, type RedisOptions } from 'ioredis'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { bufferView } from './bytes.js'
import { FanoutUnavailableError } from './errors.js'
import type { StoredRow } from './docStore.js'
import type { Fanout, FanoutLink, FanoutMember } from './fanout.js'
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
 * `storedUpdate` is an update with where it landed in the store's log (its row id and the id of the
 * row before it, empty for none): the receiver can then check its own appends without a read (see
 * storedFirst.ts). Relays of one cluster run one version: an older relay drops it as unknown.
 */
const kinds = { update: 0, awareness: 1, query: 2, resync: 3, deleted: 4, storedUpdate: 5 } as const
type Kind = (typeof kinds)[keyof typeof kinds]

const encodeStoredUpdate = (update: Uint8Array, row: StoredRow): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, row.id)
  encoding.writeVarString(encoder, row.previous ?? '')
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

const rowId = /^[1-9][0-9]{0,18}$/

const decodeStoredUpdate = (payload: Uint8Array): { update: Uint8Array; row: StoredRow } =>
  decodeWhole(payload, 'stored update', (decoder) => {
    const id = decoding.readVarString(decoder)
    const previous = decoding.readVarString(decoder)
    if (!rowId.test(id) || (previous !== '' && !rowId.test(previous))) {
      throw new ProtocolError('malformedMessage', 'a stored update names no valid row id')
    }
    return {
      row: { id, previous: previous === '' ? undefined : previous },
      update: decoding.readVarUint8Array(decoder),
    }
  })

interface Membership {
  readonly member: FanoutMember
  /** This relay's stream for the document, and the last sequence number it used. */
  readonly stream: number
  seq: number
  /** `relayId/stream` of each other relay's stream seen on this document → the last sequence number seen. */
  readonly seen: Map<string, number>
}

interface Message {
  readonly relayId: string
  readonly stream: number
  readonly seq: number
  readonly kind: Kind
  readonly payload: Uint8Array
}

const encodeMessage = ({ relayId, stream, seq, kind, payload }: Message): Buffer => {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, relayId)
  encoding.writeVarUint(encoder, stream)
  encoding.writeVarUint(encoder, seq)
  encoding.writeVarUint(encoder, kind)
  encoding.writeVarUint8Array(encoder, payload)
  return bufferView(encoding.toUint8Array(encoder))
}

/** Strict, as every decoder in the repository: trailing bytes, an unsafe integer or an unknown kind is a ProtocolError. */
const decodeMessage = (bytes: Uint8Array): Message => {
  const message = decodeWhole(bytes, 'fan-out message', (decoder) => ({
    relayId: decoding.readVarString(decoder),
    stream: readSafeVarUint(decoder, 'stream'),
    seq: readSafeVarUint(decoder, 'seq'),
    kind: readBoundedVarUint(decoder, kinds.storedUpdate, 'fan-out message kind') as Kind,
    payload: decoding.readVarUint8Array(decoder),
  }))
  // It refuses every client of the document: only the exact form a relay sends counts.
  if (message.kind === kinds.deleted && (message.stream !== 0 || message.seq !== 0 || message.payload.length > 0)) {
    throw new ProtocolError('malformedMessage', 'a deletion has stream 0, sequence number 0 and no payload')
  }
  return message
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
    const membership: Membership = { member, stream: ++this.#streams, seq: 0, seen: new Map() }
    this.#docs.set(doc, membership)
    const channel = this.#channel(doc)
    const ready =
      this.#subscriber.status === 'ready'
        ? this.#subscriber.subscribe(channel).then(
            // Ask the relays already there for their clients' presence.
            () => this.#publish(doc, membership, kinds.query, new Uint8Array()),
            (error: unknown) => this.#logger.warn({ err: error, doc }, 'could not subscribe; will resync on reconnect'),
          )
        : Promise.resolve()
    return {
      ready,
      publishUpdate: (update, row) =>
        row
          ? this.#publish(doc, membership, kinds.storedUpdate, encodeStoredUpdate(update, row))
          : this.#publish(doc, membership, kinds.update, update),
      publishAwareness: (update) => this.#publish(doc, membership, kinds.awareness, update),
      leave: () => {
        if (this.#docs.get(doc) !== membership) return
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
    if (this.#closed || this.#publisher.status !== 'ready') return
    const message = encodeMessage({
      relayId: this.relayId,
      stream: 0,
      seq: 0,
      kind: kinds.deleted,
      payload: new Uint8Array(),
    })
    this.#publisher.publish(this.#channel(doc), message).catch((error: unknown) => {
      this.#logger.debug({ err: error, doc }, 'could not publish a deletion; other relays find the tombstone')
    })
  }

  async ping(): Promise<void> {
    if (this.#subscriber.status !== 'ready') throw new FanoutUnavailableError('the Redis subscriber is not connected')
    await this.#publisher.ping()
  }

  async close(): Promise<void> {
    if (this.#closed) return
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

  #publish(doc: string, membership: Membership, kind: Kind, payload: Uint8Array): void {
    // Counted even when it cannot be sent: receivers then see the gap at the next message.
    const seq = ++membership.seq
    if (this.#closed || this.#publisher.status !== 'ready') return
    const message = encodeMessage({ relayId: this.relayId, stream: membership.stream, seq, kind, payload })
    this.#publisher.publish(this.#channel(doc), message).catch((error: unknown) => {
      this.#logger.debug({ err: error, doc }, 'could not publish; receivers will resync')
    })
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
    membership.seen.set(stream, message.seq)
    const { member } = membership
    switch (message.kind) {
      case kinds.update:
        member.applyRemote(message.payload, message.relayId)
        break
      case kinds.storedUpdate: {
        let stored: { update: Uint8Array; row: StoredRow }
        try {
          stored = decodeStoredUpdate(message.payload)
        } catch (error) {
          this.#logger.warn({ err: error, doc }, 'dropped a fan-out message that does not decode')
          gap = true
          break
        }
        member.applyRemote(stored.update, message.relayId, stored.row)
        break
      }
      case kinds.awareness:
        member.applyRemoteAwareness(message.relayId, message.payload)
        break
      case kinds.query: {
        const presence = member.localPresence()
        if (presence) this.#publish(doc, membership, kinds.awareness, presence)
        break
      }
      case kinds.resync:
        gap = true
        break
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
    for (const [doc, membership] of this.#docs) this.#publish(doc, membership, kinds.resync, new Uint8Array())
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
    for (const [doc, membership] of this.#docs) {
      this.#publish(doc, membership, kinds.query, new Uint8Array())
      const presence = membership.member.localPresence()
      if (presence) this.#publish(doc, membership, kinds.awareness, presence)
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
