import { evictionBusContract, serviceReachable } from '@tidings/testing'
import { describe } from 'vitest'
import { redisEvictionBus, type RedisEvictionBus } from './redis-eviction-bus'

const SHARED = 'redis://127.0.0.1:6379'
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
let networks = 0

describe.runIf(await serviceReachable('Redis', 6379))('Redis eviction bus (shared server)', () => {
  // Every test a channel prefix of its own: the shared server serves other runs too. Pub/sub keeps no keys.
  evictionBusContract('redis', async () => {
    const channelPrefix = `tidings-test-evictions-${run}-${++networks}`
    const buses: RedisEvictionBus[] = []
    return {
      async instance() {
        const bus = await redisEvictionBus({ url: SHARED, channelPrefix })
        buses.push(bus)
        return bus
      },
      close: async () => void (await Promise.all(buses.map((bus) => bus.close()))),
    }
  })
})
