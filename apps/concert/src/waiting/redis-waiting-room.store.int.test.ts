import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { serviceReachable } from '@tidings/testing'
import { RedisWaitingRoomStore } from './redis-waiting-room.store'
import { newQueueToken } from './waiting-room'
import { waitingRoomStoreContract } from './waiting-room-store.contract'

const SHARED = 'redis://127.0.0.1:6379'
/** Every run its own key prefix, every test a room under it: the shared server serves other runs too. */
const PREFIX = `tidings-test-waiting-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

describe.runIf(await serviceReachable('Redis', 6379))('the waiting room on Redis (shared server)', () => {
  const opened: RedisWaitingRoomStore[] = []
  let rooms = 0
  afterAll(async () => {
    for (const store of opened) store.close()
    const redis = new Redis(SHARED)
    const keys = await redis.keys(`${PREFIX}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  waitingRoomStoreContract('redis', async () => {
    const store = new RedisWaitingRoomStore(SHARED, `${PREFIX}:${++rooms}`)
    opened.push(store)
    return store
  })

  it('a member whose live token lost its hash (evicted, deleted) joins anew, and the joins sent with theirs are answered', async () => {
    const prefix = `${PREFIX}:${++rooms}`
    const store = new RedisWaitingRoomStore(SHARED, prefix)
    opened.push(store)
    const concert = randomUUID()
    const lost = await store.join(concert, 'lost', newQueueToken(), new Date())
    const redis = new Redis(SHARED)
    await redis.del(`${prefix}:t:${lost.token.token}`)
    redis.disconnect()
    const joins = await Promise.all(['a', 'lost', 'b'].map((member) => store.join(concert, member, newQueueToken(), new Date())))
    expect(joins.map((j) => [j.token.memberId, j.created, j.token.status])).toEqual([
      ['a', true, 'WAITING'],
      ['lost', true, 'WAITING'],
      ['b', true, 'WAITING'],
    ])
    expect(joins[1]!.token.token).not.toBe(lost.token.token)
  })
})
