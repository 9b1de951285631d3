import { brokerOutageContract, brokerTransportContract, startRedisServer } from '@tidings/testing'
import { expect } from 'vitest'
import { Redis } from 'ioredis'
import { redisTransport, streamKey } from '../index'

await brokerTransportContract('redis', 'redis-server', startRedisServer, (url) => redisTransport({ url }), {
  dropsRepeats: false,
  // As Redis after a crash under `appendfsync everysec`: the last entries it had confirmed are gone.
  loseTail: async (url, source, partition, count) => {
    const redis = new Redis(url)
    try {
      const key = streamKey('tidings', source, partition)
      const last = (await redis.xrevrange(key, '+', '-', 'COUNT', count)).map(([id]) => id)
      expect(last).toHaveLength(count)
      await redis.xdel(key, ...last)
    } finally {
      redis.disconnect()
    }
  },
})

brokerOutageContract('redis', 'redis-server', startRedisServer, (url, partitions) => redisTransport({ url, partitions }), {
  dropsRepeats: false,
  // The consumer groups came back with the server (append-only, fsync always), where the readers left them.
  afterRestart: async (server, source, readTo) => {
    const redis = new Redis(server.url)
    try {
      for (const [p, position] of readTo.entries()) {
        const groups = (await redis.call('XINFO', 'GROUPS', streamKey('tidings', source, p))) as unknown[][]
        const group = groups.map((flat) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]])))
        expect(group.find((g) => g.name === 'outage-test')).toMatchObject({ 'last-delivered-id': position })
      }
    } finally {
      redis.disconnect()
    }
  },
})
