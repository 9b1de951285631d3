import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { START, uuidv7, type Envelope, type Position, type FeedLag, type FeedPage, type FeedReader, type ReadOptions } from '@tidings/core'
import { sleep } from '@tidings/postgres'
import { createConnection, type Connection } from 'mysql2/promise'
import { DELIVERY_SOURCE, ORDER_SOURCE, PAYMENT_SOURCE, type Order } from '@tidings/orders'
import { ACCOUNT_OPENED } from './workload'

/**
 * The orders app's three feeds as in-memory streams (the order-status view bench, figure 11), and the
 * MariaDB side of its ceiling: the raw transaction of W on 16 mysql2 connections.
 */
export const MARIADB_URL = process.env.BENCH_MARIADB_URL ?? process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test'

export { DELIVERY_SOURCE, ORDER_SOURCE, PAYMENT_SOURCE }
export type OrdersSource = typeof ORDER_SOURCE | typeof PAYMENT_SOURCE | typeof DELIVERY_SOURCE
export const ORDERS_SOURCES: readonly OrdersSource[] = [ORDER_SOURCE, PAYMENT_SOURCE, DELIVERY_SOURCE]

/** Each order's events, by source: order v1..v3 (placed, paid, shipped), payment v1, delivery v1..v2. */
export const EVENTS_PER_ORDER = 6

/**
 * How far apart in a stream an order's consecutive versions are (in orders): the stream is a log of a
 * busy shop, with thousands of other orders' events between an order being placed and paid, so a page of
 * 500 rarely holds the same order twice and nothing is collapsed by the store's "newest per order" step.
 */
const SPREAD = 1_000

export interface OrderStreams {
  orderIds: string[]
  streams: Record<OrdersSource, Envelope[]>
  events: number
}

/**
 * Full-state events (as the services raise them) for `count` orders, one stream per source. Within a
 * stream an order's versions come in order, `SPREAD` orders apart; the three streams are independent logs.
 */
export function orderStreams(count: number, seed: number): OrderStreams {
  const base = Date.UTC(2026, 10, 30, 8, 0, 0) + seed * 86_400_000
  const orderIds = Array.from({ length: count }, (_, i) => uuidv7(base + i))
  const ranked: Record<OrdersSource, Array<{ rank: number; e: Envelope }>> = { [ORDER_SOURCE]: [], [PAYMENT_SOURCE]: [], [DELIVERY_SOURCE]: [] }
  const at = (i: number, step: number) => new Date(base + i * 10 + step * 60_000).toISOString()
  const push = (source: OrdersSource, type: string, i: number, version: number, step: number, data: Record<string, unknown>) => {
    ranked[source].push({
      rank: i + (version - 1) * SPREAD,
      e: { id: uuidv7(), type, source, key: orderIds[i]!, version, occurredAt: at(i, step), data, meta: { correlationId: orderIds[i]! } },
    })
  }
  orderIds.forEach((orderId, i) => {
    const customerId = `customer-${i % 997}`
    const items = Array.from({ length: 1 + (i % 3) }, (_, k) => ({ sku: `sku-${(i * 7 + k) % 500}`, qty: 1 + (k % 2), unitPrice: 250 + ((i + k) % 40) * 25 }))
    const total = items.reduce((sum, item) => sum + item.qty * item.unitPrice, 0)
    const shippingAddress = `${1 + (i % 200)} Market Street, ${10_000 + (i % 90_000)} Springfield`
    const placedAt = at(i, 0)
    ;(['PLACED', 'PAID', 'SHIPPED'] as const).forEach((status, v) => {
      const order: Order = { orderId, customerId, items, total, shippingAddress, status, placedAt, updatedAt: at(i, v * 2), version: v + 1 }
      push(ORDER_SOURCE, ['orders.OrderPlaced.v1', 'orders.OrderPaid.v1', 'orders.OrderShipped.v1'][v]!, i, v + 1, v * 2, order as unknown as Record<string, unknown>)
    })
    push(PAYMENT_SOURCE, 'orders.PaymentCompleted.v1', i, 1, 1, { orderId, customerId, amount: total, status: 'PAID', updatedAt: at(i, 1), version: 1 })
    ;(['PREPARING', 'SHIPPED'] as const).forEach((status, v) => {
      push(DELIVERY_SOURCE, ['orders.DeliveryCreated.v1', 'orders.DeliveryShipped.v1'][v]!, i, v + 1, 3 + v * 2, {
        orderId,
        address: shippingAddress,
        status,
        updatedAt: at(i, 3 + v * 2),
        version: v + 1,
      })
    })
  })
  const arrange = (list: Array<{ rank: number; e: Envelope }>) => list.sort((a, b) => a.rank - b.rank).map((x) => x.e)
  const streams = { [ORDER_SOURCE]: arrange(ranked[ORDER_SOURCE]), [PAYMENT_SOURCE]: arrange(ranked[PAYMENT_SOURCE]), [DELIVERY_SOURCE]: arrange(ranked[DELIVERY_SOURCE]) }
  return { orderIds, streams, events: count * EVENTS_PER_ORDER }
}

/**
 * A feed over an in-memory stream, like `@tidings/testing`'s ScriptedFeed (delivery n at position
 * "1-n"), but a read is a slice at the position's index instead of a scan of the whole script, so the
 * feed costs next to nothing and the bench measures the consumers and the view's store.
 */
export class MemoryFeed implements FeedReader {
  private readonly deliveries: Envelope[]

  constructor(
    readonly source: string,
    stream: readonly Envelope[],
  ) {
    this.deliveries = stream.map((e, i) => ({ ...e, source, position: `1-${i + 1}` }))
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const from = this.indexAfter(after)
    const items = this.deliveries.slice(from, from + limit)
    if (items.length === 0 && options.waitMs) await sleep(Math.min(options.waitMs, 20), options.signal)
    return { items, next: items.at(-1)?.position ?? after }
  }

  async lag(after: Position): Promise<FeedLag> {
    return { events: this.deliveries.length - this.indexAfter(after) }
  }

  get lastPosition(): Position {
    return this.deliveries.at(-1)?.position ?? START
  }

  get length(): number {
    return this.deliveries.length
  }

  private indexAfter(after: Position): number {
    if (after === START) return 0
    const [xid, seq] = after.split('-')
    if (xid !== '1' || seq === undefined) throw new Error(`Not a position of this feed: ${after}`)
    return Number(seq)
  }
}

/**
 * W on MariaDB: the raw transaction of figure 1 (BEGIN; INSERT the account row; INSERT an outbox-like row;
 * COMMIT) on plain mysql2 connections, into two tables shaped like figure 1's (uuid keys as CHAR(36), as
 * the order-status store keeps them; JSON for jsonb). Same API as the store (`query`, client-side
 * parameters), InnoDB.
 */
export class RawMariaDb {
  private constructor(
    private readonly connections: Connection[],
    private readonly accounts: string,
    private readonly outbox: string,
  ) {}

  static async open(url: string, count: number, prefix: string): Promise<RawMariaDb> {
    const connections = await Promise.all(Array.from({ length: count }, () => createConnection({ uri: url })))
    for (const c of connections) c.on('error', () => {})
    const raw = new RawMariaDb(connections, `${prefix}_accounts`, `${prefix}_raw_outbox`)
    await connections[0]!.query(`CREATE TABLE ${raw.accounts} (
        id CHAR(36) PRIMARY KEY, owner VARCHAR(64) NOT NULL, balance BIGINT NOT NULL,
        opened_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`)
    await connections[0]!.query(`CREATE TABLE ${raw.outbox} (
        seq BIGINT AUTO_INCREMENT PRIMARY KEY, id CHAR(36) NOT NULL UNIQUE, type VARCHAR(255) NOT NULL,
        \`key\` VARCHAR(255) NOT NULL, version BIGINT NULL, occurred_at DATETIME(3) NOT NULL,
        data JSON NOT NULL, meta JSON NOT NULL DEFAULT '{}'
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`)
    return raw
  }

  /** One raw transaction on connection `c`. */
  async openAccount(c: number): Promise<void> {
    const connection = this.connections[c]!
    const id = randomUUID()
    const data = { owner: `owner-${id.slice(0, 8)}`, balance: 100 }
    await connection.beginTransaction()
    try {
      await connection.query(`INSERT INTO ${this.accounts} (id, owner, balance) VALUES (?, ?, ?)`, [id, data.owner, data.balance])
      await connection.query(`INSERT INTO ${this.outbox} (id, type, \`key\`, version, occurred_at, data) VALUES (?, ?, ?, ?, ?, ?)`, [
        randomUUID(),
        ACCOUNT_OPENED,
        id,
        1,
        new Date().toISOString().replace('T', ' ').replace('Z', ''),
        JSON.stringify(data),
      ])
      await connection.commit()
    } catch (error) {
      await connection.rollback().catch(() => {})
      throw error
    }
  }

  /** Runs a statement on the first connection (checks, settings). */
  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.connections[0]!.query(sql, params)
    return rows as T[]
  }

  /** Drops the two tables and closes the connections (idempotent). */
  async close(): Promise<void> {
    const connections = this.connections.splice(0)
    if (connections.length === 0) return
    await connections[0]!.query(`DROP TABLE IF EXISTS ${this.accounts}, ${this.outbox}`).catch(() => {})
    await Promise.all(connections.map((c) => c.end().catch(() => {})))
  }
}

/** The pid of the MariaDB server on this machine (its CPU time is then readable from /proc), if any. */
export function mariadbPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim()
      if (comm === 'mariadbd' || comm === 'mysqld') return Number(entry)
    } catch {
      // gone meanwhile
    }
  }
  return undefined
}
