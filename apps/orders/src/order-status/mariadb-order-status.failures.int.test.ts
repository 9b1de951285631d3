import { afterAll, describe, expect, it } from 'vitest'
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise'
import { TidingsError, uuidv7, type Envelope } from '@tidings/core'
import { isInfrastructureError, Subscription } from '@tidings/postgres'
import { eventually, ScriptedFeed, testEngines, uniqueName } from '@tidings/testing'
import { ORDER_SOURCE } from '../order/order.contracts'
import { MariaDbOrderStatusStore, type MariaDbStoreOptions } from './mariadb-order-status.store'
import { MARIADB_URL, mariadbReachable } from './mariadb-test-server'
import type { ConsumerTransaction, OrderStatusChange } from './order-status'
import { orderStatusProjection } from './order-status.projection'
import { deliveryChange, orderChange, paymentChange } from './order-status-store.contract'

/** A consumer transaction that is alive: the store only asks it whether it still answers. */
const ALIVE: ConsumerTransaction = { query: () => Promise.resolve({ rows: [] }) }

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

/** A store on a table of its own, and a session of another client for locking and killing. */
async function openStore(options: Omit<MariaDbStoreOptions, 'table'> = {}): Promise<{ store: MariaDbOrderStatusStore; table: string; admin: Connection }> {
  const table = uniqueName('status')
  const store = await MariaDbOrderStatusStore.open(MARIADB_URL, { ...options, table })
  const admin = await createConnection({ uri: MARIADB_URL })
  closers.push(async () => {
    await admin.query('ROLLBACK').catch(() => {})
    await admin.end()
    await store.drop(table)
    await store.close()
  })
  return { store, table, admin }
}

/** Makes the row of `orderId` and holds its lock in `admin`'s open transaction: applies to it wait. */
async function holdRow(admin: Connection, table: string, orderId: string): Promise<void> {
  await admin.query(`INSERT INTO ${table} (order_id, updated_at) VALUES (?, '2026-01-01 00:00:00')`, [orderId])
  await admin.query('BEGIN')
  await admin.query(`SELECT order_id FROM ${table} WHERE order_id = ? FOR UPDATE`, [orderId])
}

/** The session of the store's upsert that waits for a lock (once there is one), other than those already killed. */
async function waitingUpsert(admin: Connection, table: string, killed: ReadonlySet<number> = new Set()): Promise<number> {
  const ids = await eventually(
    async () => {
      const [rows] = await admin.query<RowDataPacket[]>(`SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()`, [`INSERT INTO ${table} %`])
      return rows.map((r) => Number(r.ID)).filter((id) => !killed.has(id))
    },
    (found) => found.length === 1,
    { what: 'the upsert waiting for the row lock' },
  )
  return ids[0]!
}

/** Kills the session of the store's next upsert that waits for a lock: its connection is lost mid-statement. */
async function killWaitingUpsert(admin: Connection, table: string, killed: Set<number>): Promise<void> {
  const id = await waitingUpsert(admin, table, killed)
  killed.add(id)
  await admin.query(`KILL ${id}`)
}

const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )

describe.runIf(await mariadbReachable())('the MariaDB order-status store when MariaDB fails', () => {
  it('a connection killed under an apply fails as infrastructure (kind unavailable), and the next apply gets a sound connection', async () => {
    const { store, table, admin } = await openStore()
    const id = uuidv7()
    await holdRow(admin, table, id)
    const applying = rejectionOf(store.apply(ALIVE, [orderChange(id, 1, 'PLACED')]))
    await killWaitingUpsert(admin, table, new Set())
    const error = await applying
    expect(error).toBeInstanceOf(TidingsError)
    expect(error).toMatchObject({ kind: 'unavailable', code: 'VIEW_DATABASE_UNAVAILABLE', cause: { code: 'PROTOCOL_CONNECTION_LOST' } })
    expect(isInfrastructureError(error)).toBe(true)

    await admin.query('ROLLBACK')
    for (let i = 0; i < 10; i++) await store.apply(ALIVE, [orderChange(id, 1 + i, 'PLACED')])
    expect(await store.get(id)).toMatchObject({ orderStatus: 'PLACED' })
  })

  it('a lock wait still timing out after the store retried fails as infrastructure', async () => {
    const { store, table, admin } = await openStore({ attempts: 2, lockWaitTimeoutSeconds: 1 })
    const id = uuidv7()
    await holdRow(admin, table, id)
    const started = performance.now()
    const error = await rejectionOf(store.apply(ALIVE, [paymentChange(id, 1, 'PAID')]))
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_900) // two attempts of a second each
    expect(error).toMatchObject({ kind: 'unavailable', code: 'VIEW_DATABASE_UNAVAILABLE', cause: { errno: 1205 } })
    expect(isInfrastructureError(error)).toBe(true)
  })

  it('a server that refuses the connection fails as infrastructure', async () => {
    const error = await rejectionOf(MariaDbOrderStatusStore.open('mysql://root@127.0.0.1:1/test'))
    expect(error).toMatchObject({ kind: 'unavailable', code: 'VIEW_DATABASE_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } })
    expect(isInfrastructureError(error)).toBe(true)
  })

  it('a subscription whose MariaDB connection is killed under a page retries it and dead-letters nothing, even with one attempt per message', async () => {
    const { store, table, admin } = await openStore()
    const engine = (await testEngines()).at(-1)!
    const db = await engine.db()
    const schema = await engine.freshSchema('status_kill')
    const ids = [uuidv7(), uuidv7(), uuidv7()]
    const script: Envelope[] = ids.flatMap((orderId) =>
      [1, 2].map((version) => ({
        id: uuidv7(),
        type: 'orders.OrderChanged.v1',
        source: ORDER_SOURCE,
        key: orderId,
        version,
        occurredAt: new Date(Date.UTC(2026, 10, 30, 10, 0, version)).toISOString(),
        data: { orderId, customerId: 'c1', items: [], total: 1000, shippingAddress: '1 Main St', status: version === 1 ? 'PLACED' : 'PAID', version },
        meta: {},
      })),
    )
    await holdRow(admin, table, ids[0]!)
    const feed = new ScriptedFeed(ORDER_SOURCE, script)
    const base = orderStatusProjection(store)
    const subscription = new Subscription({
      db,
      schema,
      consumer: { ...base, name: `${base.name}.kill`, follows: [ORDER_SOURCE] },
      feeds: [feed],
      instanceId: 'test',
      // A failure the platform took for the message's would dead-letter it at once.
      retry: { maxAttempts: 1, baseDelayMs: 10 },
    })
    subscription.start()
    try {
      // The page, then each message alone if the page's failure were the message's: killed every time.
      const killed = new Set<number>()
      for (let kill = 0; kill < 3; kill++) await killWaitingUpsert(admin, table, killed)
      await admin.query('COMMIT')
      await eventually(() => subscription.processedPosition(ORDER_SOURCE), (p) => p === feed.lastPosition, { what: 'the page applied' })
    } finally {
      await subscription.stop()
    }
    const dead = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".dead_letters`)
    expect(Number(dead.rows[0]!.n)).toBe(0)
    for (const id of ids) expect(await store.get(id)).toMatchObject({ orderStatus: 'PAID' })
  })
})

describe.runIf(await mariadbReachable())("the MariaDB order-status store's clear", () => {
  it('racing applies leaves each of them whole or gone, and never fails for the race', async () => {
    const { store, admin, table } = await openStore()
    // Each batch: ten orders of its own, each with all three sources, in one apply (three statements).
    const batches = Array.from({ length: 60 }, () => Array.from({ length: 10 }, () => uuidv7()))
    const changesOf = (ids: string[]): OrderStatusChange[] => ids.flatMap((id) => [orderChange(id, 1, 'PLACED'), paymentChange(id, 1, 'PAID'), deliveryChange(id, 1, 'PREPARING')])
    const appliers = [0, 1, 2].map(async (lane) => {
      for (const [i, batch] of batches.entries()) if (i % 3 === lane) await store.apply(ALIVE, changesOf(batch))
    })
    const clears = (async () => {
      for (let i = 0; i < 15; i++) {
        await new Promise((r) => setTimeout(r, Math.random() * 20))
        await store.clear(ALIVE)
      }
    })()
    await Promise.all([...appliers, clears])

    const [rows] = await admin.query<RowDataPacket[]>(`SELECT order_id, order_status, payment_status, delivery_status FROM ${table}`)
    const present = new Map(rows.map((r) => [r.order_id as string, r]))
    const kept = batches.map((batch) => batch.filter((id) => present.has(id)).length)
    expect(kept.every((n) => n === 0 || n === 10), `orders kept per batch: ${kept.join(' ')}`).toBe(true)
    for (const row of rows) expect(row).toMatchObject({ order_status: 'PLACED', payment_status: 'PAID', delivery_status: 'PREPARING' })
  })

  it("an apply whose consumer transaction has ended (a rebuild may have fenced it off and cleared the view since) writes nothing", async () => {
    const { store } = await openStore()
    const id = uuidv7()
    const gone = new Error('Connection terminated unexpectedly')
    const error = await rejectionOf(store.apply({ query: () => Promise.reject(gone) }, [orderChange(id, 1, 'PLACED'), paymentChange(id, 1, 'PAID')]))
    expect(error).toBe(gone)
    expect(await store.get(id)).toBeUndefined()
  })

  it('waits for an apply in flight and deletes all of it', async () => {
    const { store, table, admin } = await openStore()
    const [held, other] = [uuidv7(), uuidv7()].sort()
    await holdRow(admin, table, held!)
    // The apply writes `other`'s payment after waiting for `held`'s order: clear must not delete in between.
    const applying = store.apply(ALIVE, [orderChange(held!, 1, 'PLACED'), paymentChange(other!, 1, 'PAID')])
    await waitingUpsert(admin, table)
    const clearing = store.clear(ALIVE)
    await eventually(
      async () => (await admin.query<RowDataPacket[]>(`SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`, [`DELETE FROM ${table}`]))[0].length,
      (n) => n === 1,
      { what: 'the clear waiting' },
    )
    await admin.query('COMMIT')
    await Promise.all([applying, clearing])
    const [rows] = await admin.query<RowDataPacket[]>(`SELECT order_id FROM ${table}`)
    expect(rows).toEqual([])
  })
})
