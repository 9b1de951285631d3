import type { Clock, EvictionBus, Logger } from '@tidings/core'
import type { Worker } from '@tidings/http'
import { AdmissionRates } from './admission-rates'
import { viewOf, waitingView, type QueueView } from './waiting-room'
import { ROOM_CHANGES_TOPIC } from './waiting-room.service'
import type { WaitingRoomStore } from './waiting-room.store'

/** One open connection (a WebSocket, an event stream) of a token's holder. */
export interface ChannelClient {
  /** Sends the token's view as it is now. */
  send(view: QueueView): void
  /** The token reached a final status (its last view was sent), or the channel closes: the connection ends. */
  end(): void
}

export interface QueueChannelSettings {
  /** At most this many connections on the channel at once (`CONCERT_CHANNEL_MAX_CONNECTIONS`, default 50,000). */
  maxConnections: number
  /** At most this many per token (a few browser tabs), default 4. */
  maxPerToken: number
  /** A changed room is pushed at most this often (default 100 ms): changes in between are pushed together. */
  pushIntervalMs: number
  /** Every room with connections is read again this often even without a notice (default 5 s): a lost notice is caught up. */
  roundMs: number
  /** Connected waiters are marked present this often (default 10 s; must be well under the idle limit). */
  presenceMs: number
}

export const DEFAULT_CHANNEL: QueueChannelSettings = { maxConnections: 50_000, maxPerToken: 4, pushIntervalMs: 100, roundMs: 5_000, presenceMs: 10_000 }

export type Subscription = { unsubscribe(): void } | 'unknown' | 'full' | 'token-full'

/** A final status: the view is sent once more, then the connection ends. */
const isFinal = (view: QueueView) => view.status === 'EXPIRED' || view.status === 'COMPLETED'
/** What a holder is pushed on: a change of status, of position, or of the end of their time. */
const pushKey = (view: QueueView) => `${view.status}|${view.position}|${view.activeUntil}`

/**
 * The waiting room's push side (the article's client channel): each connected holder gets *its own* status
 * and position on every change. Its cost grows with the connections, never with connections × line length:
 *
 * - the room announces which concerts changed (`ROOM_CHANGES_TOPIC` on the eviction bus); a join, which
 *   changes no one else's place, announces nothing;
 * - a changed concert is read once per push interval however many changes came: one `lineOf` for all its
 *   connected tokens (Redis: a pipelined `ZRANK` each; the database: one pass over the line), plus a
 *   lookup of each connected token that left the line (at most the active capacity and those ending);
 * - a holder is sent a message only when their status or position moved;
 * - every connected waiter is marked present in one write per room each `presenceMs` (an open connection keeps a
 *   place as polling does), and every room is read again each `roundMs` in case a notice was lost.
 */
export class QueueChannel implements Worker {
  /** Concert → token → its connections. */
  private readonly rooms = new Map<string, Map<string, Set<ChannelClient>>>()
  /** What each connected token was last pushed (`pushKey`). */
  private readonly pushed = new Map<string, string>()
  private readonly changed = new Set<string>()
  /** Tokens connected since the last push, by concert: read once more (alone, not with their whole room). */
  private readonly arrived = new Map<string, Set<string>>()
  private connections = 0
  private timer?: NodeJS.Timeout
  private pushing?: Promise<void>
  private lastRound = 0
  private lastPresence = 0
  private unfollow?: () => void
  private readonly rates: AdmissionRates

  constructor(private readonly deps: { store: WaitingRoomStore; changes: EvictionBus | undefined; clock: Clock; logger: Logger; settings: QueueChannelSettings }) {
    this.rates = new AdmissionRates(deps.store, deps.clock)
  }

  get connected(): number {
    return this.connections
  }

  /** Opens a connection for the token's holder and sends its view; final tokens get their view and the end. */
  async subscribe(token: string, client: ChannelClient): Promise<Subscription> {
    const { settings } = this.deps
    if (this.connections >= settings.maxConnections) return 'full'
    const view = await this.viewOf(token)
    if (!view) return 'unknown'
    // Counted again after the read: others may have connected meanwhile.
    if (this.connections >= settings.maxConnections) return 'full'
    const clients = this.rooms.get(view.concertId)?.get(token)
    if (clients && clients.size >= settings.maxPerToken) return 'token-full'
    client.send(view)
    // The token's other connections were pushed an older view: this one is news to them too.
    if (this.pushed.get(token) !== pushKey(view)) for (const other of clients ?? []) other.send(view)
    if (isFinal(view)) {
      client.end()
      return { unsubscribe: () => {} }
    }
    this.add(view.concertId, token, client)
    this.pushed.set(token, pushKey(view))
    // A change between the read above and now may have been pushed without this connection: read its token again.
    let arrived = this.arrived.get(view.concertId)
    if (!arrived) this.arrived.set(view.concertId, (arrived = new Set()))
    arrived.add(token)
    return { unsubscribe: () => this.remove(view.concertId, token, client) }
  }

  start(): void {
    this.unfollow = this.deps.changes?.subscribe(
      ROOM_CHANGES_TOPIC,
      (notice) => notice.ids.forEach((id) => this.changed.add(id)),
      () => this.rooms.forEach((_, id) => this.changed.add(id)),
    )
    this.timer ??= setInterval(() => {
      this.pushing ??= this.push()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'queue channel: a push failed (the next round tries again)'))
        .finally(() => (this.pushing = undefined))
    }, this.deps.settings.pushIntervalMs).unref()
  }

  /** Ends every connection (before the server closes: an upgraded or streaming connection would hold it open). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.unfollow?.()
    await this.pushing
    for (const [concertId, tokens] of this.rooms) for (const [token, clients] of tokens) for (const client of clients) this.end(concertId, token, client)
  }

  /** One push: the rooms announced changed (every room, once a round), and presence when it is due. */
  async push(): Promise<void> {
    const now = this.deps.clock.now().getTime()
    if (now - this.lastRound >= this.deps.settings.roundMs) {
      this.lastRound = now
      this.rooms.forEach((_, id) => this.changed.add(id))
    }
    const due = [...this.changed].filter((id) => this.rooms.has(id))
    const arrived = [...this.arrived].filter(([id]) => !this.changed.has(id))
    this.changed.clear()
    this.arrived.clear()
    for (const concertId of due) await this.pushRoom(concertId, [...(this.rooms.get(concertId)?.keys() ?? [])])
    for (const [concertId, tokens] of arrived) await this.pushRoom(concertId, [...tokens])
    if (now - this.lastPresence >= this.deps.settings.presenceMs) {
      this.lastPresence = now
      await this.markPresent()
    }
  }

  /** Pushes the new views of these connected tokens of the concert (one who connects meanwhile got theirs as they connected). */
  private async pushRoom(concertId: string, asked: string[]): Promise<void> {
    const tokens = this.rooms.get(concertId)
    if (!tokens) return
    const { store } = this.deps
    const line = await store.lineOf(concertId, asked)
    const rate = line.size > 0 ? await this.rates.perSecond(concertId) : 0
    // Those out of line (admitted, ended) are looked up all at once.
    const outOfLine = asked.filter((token) => !line.has(token) && tokens.has(token))
    const found = new Map(await Promise.all(outOfLine.map(async (token) => [token, await store.find(token)] as const)))
    for (const token of asked) {
      const outside = found.get(token)
      const view = line.has(token) ? waitingView(token, concertId, line.get(token)!, rate) : outside && viewOf(outside, null, 0)
      const clients = tokens.get(token)
      if (!view || !clients) continue // no such token, or its connections went meanwhile
      const key = pushKey(view)
      if (this.pushed.get(token) === key) continue
      this.pushed.set(token, key)
      for (const client of clients) {
        client.send(view)
        if (isFinal(view)) this.end(concertId, token, client)
      }
    }
  }

  /** The token's view now; undefined when there is no such token. */
  private async viewOf(token: string): Promise<QueueView | undefined> {
    const standing = await this.deps.store.standing(token)
    if (standing?.token.status !== 'WAITING') return standing && viewOf(standing.token, null, 0)
    return viewOf(standing.token, standing.position, await this.rates.perSecond(standing.token.concertId))
  }

  /** An open connection counts as its holder being there: every connected waiter, in one write per room. */
  private async markPresent(): Promise<void> {
    const now = this.deps.clock.now()
    for (const [concertId, room] of this.rooms) await this.deps.store.seen(concertId, [...room.keys()], now)
  }

  private add(concertId: string, token: string, client: ChannelClient): void {
    let tokens = this.rooms.get(concertId)
    if (!tokens) this.rooms.set(concertId, (tokens = new Map()))
    let clients = tokens.get(token)
    if (!clients) tokens.set(token, (clients = new Set()))
    clients.add(client)
    this.connections++
  }

  private end(concertId: string, token: string, client: ChannelClient): void {
    this.remove(concertId, token, client)
    client.end()
  }

  private remove(concertId: string, token: string, client: ChannelClient): void {
    const tokens = this.rooms.get(concertId)
    const clients = tokens?.get(token)
    if (!clients?.delete(client)) return
    this.connections--
    if (clients.size > 0) return
    tokens!.delete(token)
    this.pushed.delete(token)
    if (tokens!.size === 0) this.rooms.delete(concertId)
  }
}
