import { afterAll, describe } from 'vitest'
import { Redis } from 'ioredis'
import { serviceReachable } from '@tidings/testing'
import { RedisWaitingRoomStore } from './redis-waiting-room.store'
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
})
