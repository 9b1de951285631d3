import net from 'node:net'
import pg from 'pg'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { eventually, postgresReachable, TEST_DATABASE_URL, testEngines, uniqueName } from '@tidings/testing'
import { PgDatabase } from './pg-database'

await testEngines() // fails in CI when the server is missing, says so locally
const reachable = await postgresReachable()

/** Nothing listens on port 1: connecting is refused at once. */
const UNREACHABLE_URL = 'postgres://postgres@127.0.0.1:1/test'

describe.runIf(reachable)('PgDatabase on PostgreSQL', () => {
  const db = new PgDatabase({ connectionString: TEST_DATABASE_URL, maxConnections: 2 })
  const schemas: string[] = []
  afterAll(async () => {
    for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await db.close()
  })

  // A rejection nobody handles would end a service's process; vitest reports it too, but after the test.
  let unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
  beforeEach(() => {
    unhandled = []
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
  })
  /** Rejections are reported once the current turn of the event loop is over. */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

  it('reports a transaction whose work caught a failed query as an error, and commits none of it', async () => {
    const schema = uniqueName('pgdb')
    schemas.push(schema)
    await db.query(`CREATE SCHEMA "${schema}"`)
    await db.query(`CREATE TABLE "${schema}".t (id int PRIMARY KEY)`)
    const outcome = db.transaction(async (tx) => {
      await tx.query(`INSERT INTO "${schema}".t VALUES (1)`)
      await tx.query('SELECT 1/0').catch(() => {}) // a handler that "handles" an error and carries on
      return 'done'
    })
    await expect(outcome).rejects.toThrow()
    expect((await db.query(`SELECT 1 FROM "${schema}".t`)).rowCount).toBe(0)
    // The connection went back to the pool in a usable state.
    expect(await db.transaction(async (tx) => (await tx.query(`INSERT INTO "${schema}".t VALUES (2)`)).rowCount)).toBe(1)
    expect((await db.query<{ id: number }>(`SELECT id FROM "${schema}".t`)).rows).toEqual([{ id: 2 }])
  })

  it('rejects listen() against an unreachable server, every time, without an unhandled rejection', async () => {
    const clientEvents = vi.spyOn(pg.Client.prototype, 'emit')
    const unreachable = new PgDatabase({ connectionString: UNREACHABLE_URL })
    try {
      await expect(unreachable.listen('tidings_feed', () => {})).rejects.toThrow(/ECONNREFUSED/)
      // The failed connection ends on its own a little later; that is when a careless handler rejects.
      await eventually(() => clientEvents.mock.calls.some(([event]) => event === 'end'), Boolean, { what: 'the failed connection to end' })
      await nextTurn()
      // Not listening must not pass for listening: a second call tries again and fails again.
      await expect(unreachable.listen('tidings_feed', () => {})).rejects.toThrow(/ECONNREFUSED/)
      await expect(unreachable.listen('other_channel', () => {})).rejects.toThrow(/ECONNREFUSED/)
      await eventually(() => clientEvents.mock.calls.filter(([event]) => event === 'end').length >= 3, Boolean, { what: 'the failed connections to end' })
      await unreachable.close()
      await nextTurn()
      expect(unhandled).toEqual([])
    } finally {
      clientEvents.mockRestore()
      await unreachable.close()
    }
  })

  it('closes cleanly while the listener is reconnecting after an outage', async () => {
    const proxy = await tcpProxy(new URL(TEST_DATABASE_URL))
    const url = new URL(TEST_DATABASE_URL)
    url.host = `127.0.0.1:${proxy.port}`
    const outage = new PgDatabase({ connectionString: url.toString() })
    try {
      await outage.listen('tidings_feed', () => {})
      proxy.cut()
      // The listener noticed and is retrying: its attempts reach the proxy, which hangs up on them.
      await eventually(() => proxy.refused, (n) => n >= 1, { what: 'a reconnection attempt during the outage' })
      await outage.close()
      await nextTurn()
      expect(unhandled).toEqual([])
    } finally {
      await outage.close()
      await proxy.close()
    }
  })
})

/** A TCP proxy to the server that can cut every connection and then hang up on new ones (an outage). */
async function tcpProxy(target: URL) {
  const sockets = new Set<net.Socket>()
  let down = false
  let refused = 0
  const server = net.createServer((client) => {
    client.on('error', () => {})
    if (down) {
      refused++
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    upstream.on('error', () => {})
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get refused() {
      return refused
    },
    cut() {
      down = true
      for (const socket of sockets) socket.destroy()
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
