import { afterAll, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { inProcessEvictionBus, manualClock, silentLogger, type EvictionBus } from '@tidings/core'
import { migrate, platformMigrations, type Database } from '@tidings/postgres'
import { serviceReachable, testEngines, uniqueName } from '@tidings/testing'
import { PgWaitingRoomStore, waitingRoomMigrations } from './pg-waiting-room.store'
import { DEFAULT_CHANNEL, QueueChannel, type ChannelClient } from './queue-channel'
import { RedisWaitingRoomStore } from './redis-waiting-room.store'
import { newQueueToken, type QueueView } from './waiting-room'
import { ROOM_CHANGES_TOPIC } from './waiting-room.service'
import type { WaitingRoomStore } from './waiting-room.store'

/** The real store, its calls counted by method (the channel's cost, as the store sees it). */
function counted(store: WaitingRoomStore): { store: WaitingRoomStore; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const proxy = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store: proxy, calls }
}

/** A connection that keeps what it was sent. */
function listener(): ChannelClient & { views: QueueView[]; ended: boolean } {
  const client = { views: [] as QueueView[], ended: false, send: (view: QueueView) => client.views.push(view), end: () => (client.ended = true) }
  return client
}

const REDIS = 'redis://127.0.0.1:6379'
const PREFIX = `tidings-test-channel-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
const redisStores: RedisWaitingRoomStore[] = []
afterAll(async () => {
  for (const store of redisStores) store.close()
  const redis = new Redis(REDIS)
  const keys = await redis.keys(`${PREFIX}:*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

const [engine] = await testEngines()
/** One database (an embedded one takes seconds to open), a schema per world. */
let database: Promise<Database> | undefined
const stores: Array<[string, () => Promise<WaitingRoomStore>]> = [
  [
    engine!.name,
    async () => {
      const db = await (database ??= engine!.freshDatabase().then((fresh) => fresh.db))
      const schema = uniqueName('channel')
      await migrate(db, schema, 'tidings', platformMigrations)
      await migrate(db, schema, 'concert.waiting', waitingRoomMigrations)
      return new PgWaitingRoomStore(db, schema)
    },
  ],
]
if (await serviceReachable('Redis', 6379)) {
  stores.push([
    'redis',
    async () => {
      const store = new RedisWaitingRoomStore(REDIS, `${PREFIX}:${redisStores.length}`)
      redisStores.push(store)
      return store
    },
  ])
}

describe.each(stores)('the queue channel over the store on %s', (_name, open) => {
  const t0 = new Date('2030-01-01T10:00:00Z')

  /** A line of `length` waiting, `connected` of them (spread along it) with a connection each. */
  async function world(length: number, connected: number) {
    const real = await open()
    const { store, calls } = counted(real)
    const clock = manualClock(t0)
    const changes: EvictionBus = inProcessEvictionBus()
    // No push but the test's own: its timer would wait an hour.
    const channel = new QueueChannel({ store, changes, clock, logger: silentLogger, settings: { ...DEFAULT_CHANNEL, pushIntervalMs: 3_600_000 } })
    const concertId = randomUUID()
    const tokens: string[] = []
    for (let i = 0; i < length; i += 500) {
      const joins = await Promise.all(Array.from({ length: Math.min(500, length - i) }, (_, k) => real.join(concertId, `m${i + k}`, newQueueToken(), t0)))
      tokens.push(...joins.sort((x, y) => x.token.seq! - y.token.seq!).map((j) => j.token.token))
    }
    const step = Math.floor(length / connected)
    const clients = new Map<string, ReturnType<typeof listener>>()
    for (let i = 0; i < length && clients.size < connected; i += step) {
      const client = listener()
      expect(await channel.subscribe(tokens[i]!, client)).toHaveProperty('unsubscribe')
      clients.set(tokens[i]!, client)
    }
    channel.start()
    return { real, store, calls, clock, changes, channel, concertId, tokens, clients }
  }

  it('an admission reaches every connected waiter with one read of the line, the same however long the line', async () => {
    const costs: Array<Record<string, number>> = []
    for (const length of [500, 1_500]) {
      const w = await world(length, 50)
      await w.channel.push() // the first round: everything as subscribed
      for (const client of w.clients.values()) client.views.length = 0
      w.calls.clear()

      await w.real.admit(w.concertId, 10, t0, new Date(t0.getTime() + 60_000))
      await w.changes.publish({ topic: ROOM_CHANGES_TOPIC, ids: [w.concertId] })
      w.clock.advance(1_000) // the admission rate, kept a second, is read again
      await w.channel.push()
      await w.channel.stop()

      costs.push(Object.fromEntries(w.calls))
      // Every connected waiter was told its new place once; the first, admitted, that it is ACTIVE.
      const [first, ...rest] = [...w.clients.entries()]
      expect(first![1].views).toMatchObject([{ status: 'ACTIVE' }])
      rest.forEach(([token, client]) => {
        const before = w.tokens.indexOf(token) + 1
        expect(client.views).toEqual([expect.objectContaining({ token, status: 'WAITING', position: before - 10 })])
      })
    }
    // One read of the line, one of the admission rate, one lookup of the admitted connected holder: whatever the line's length.
    expect(costs[0]).toEqual({ lineOf: 1, admittedPerSecond: 1, find: 1 })
    expect(costs[1]).toEqual(costs[0])
  })

  it('nothing changed, nothing read (but for a round every few seconds); a change pushes only those whose place moved', async () => {
    const w = await world(50, 10)
    await w.channel.push()
    w.calls.clear()
    for (const client of w.clients.values()) client.views.length = 0
    await w.channel.push()
    expect(Object.fromEntries(w.calls)).toEqual({})
    // The last in line leaves: no one ahead moves, so no one is sent anything.
    const last = w.tokens.at(-1)!
    await w.real.leave(last, t0)
    await w.changes.publish({ topic: ROOM_CHANGES_TOPIC, ids: [w.concertId] })
    await w.channel.push()
    expect([...w.clients.values()].flatMap((c) => c.views)).toEqual([])
    // The round comes anyway, without a notice (one may have been lost).
    w.clock.advance(DEFAULT_CHANNEL.roundMs)
    w.calls.clear()
    await w.channel.push()
    expect(w.calls.get('lineOf')).toBe(1)
    await w.channel.stop()
  })

  it('an open connection keeps its waiter present: the idle sweep ends only the unconnected', async () => {
    const w = await world(20, 5)
    w.clock.advance(DEFAULT_CHANNEL.presenceMs)
    await w.channel.push()
    expect(w.calls.get('seen')).toBe(1)
    const idleBefore = new Date(w.clock.now().getTime() - 1)
    await w.real.sweep(w.clock.now(), idleBefore)
    const statuses = await Promise.all(w.tokens.map(async (t) => [t, (await w.real.find(t))!.status] as const))
    expect(statuses.filter(([, s]) => s === 'WAITING').map(([t]) => t).sort()).toEqual([...w.clients.keys()].sort())
    // Their connections are told they moved up (those who went idle were ahead of them).
    w.clock.advance(DEFAULT_CHANNEL.roundMs)
    await w.channel.push()
    expect([...w.clients.values()].map((c) => c.views.at(-1)!.position)).toEqual([1, 2, 3, 4, 5])
    await w.channel.stop()
  })
})
