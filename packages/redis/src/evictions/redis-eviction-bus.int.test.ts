import type { Eviction, Logger } from '@tidings/core'
import { eventually, rejectionOf, serverInstalled, serviceReachable, startRedisServer, whenUp } from '@tidings/testing'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { redisEvictionBus } from './redis-eviction-bus'

const SHARED = 'redis://127.0.0.1:6379'
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { info: () => {}, warn: (_obj, msg) => warnings.push(msg ?? ''), error: () => {}, warnings }
}

/** What a subscription heard, in order: evictions by their ids, resets as 'reset'. */
function listen(bus: Awaited<ReturnType<typeof redisEvictionBus>>, topic: string): string[] {
  const heard: string[] = []
  bus.subscribe(topic, (e: Eviction) => heard.push(...e.ids), () => heard.push('reset'))
  return heard
}

describe.runIf(await serviceReachable('Redis', 6379))('Redis eviction bus (shared server)', () => {
  it('ignores malformed messages with a warning, and what a longer prefix publishes without one', async () => {
    const channelPrefix = `tidings-test-evictions-${run}-malformed`
    const logger = recordingLogger()
    const bus = await redisEvictionBus({ url: SHARED, channelPrefix, logger })
    const nested = await redisEvictionBus({ url: SHARED, channelPrefix: `${channelPrefix}:inner` })
    const raw = new Redis(SHARED)
    try {
      const heard = listen(bus, 'posts')
      const innerPosts = listen(bus, 'inner:posts')
      // PUBLISH answers once the message is on its way to every subscriber: these arrive in this order.
      await raw.publish(`${channelPrefix}:posts`, 'not json')
      await raw.publish(`${channelPrefix}:posts`, JSON.stringify({ topic: 'posts', ids: [1] }))
      await raw.publish(`${channelPrefix}:posts`, JSON.stringify({ topic: 'posts', ids: ['x'], progress: 'all' }))
      await nested.publish({ topic: 'posts', ids: ['nested'] })
      await bus.publish({ topic: 'posts', ids: ['good'] })
      await eventually(() => heard.length, (n) => n >= 1, { what: 'the good eviction' })
      expect(heard).toEqual(['good'])
      expect(innerPosts).toEqual([])
      expect(logger.warnings).toEqual(['ignored an eviction that is not JSON', 'ignored a malformed eviction', 'ignored a malformed eviction'])
    } finally {
      raw.disconnect()
      await Promise.all([bus.close(), nested.close()])
    }
  })

  it('escapes glob characters of the channel prefix', async () => {
    const bus = await redisEvictionBus({ url: SHARED, channelPrefix: `tidings-test-evictions-${run}-[ab]*?` })
    const lookalike = await redisEvictionBus({ url: SHARED, channelPrefix: `tidings-test-evictions-${run}-a` })
    try {
      const heard = listen(bus, 'posts')
      await lookalike.publish({ topic: 'posts', ids: ['lookalike'] })
      await bus.publish({ topic: 'posts', ids: ['own'] })
      await eventually(() => heard.length, (n) => n >= 1, { what: 'the own eviction' })
      expect(heard).toEqual(['own'])
    } finally {
      await Promise.all([bus.close(), lookalike.close()])
    }
  })
})

describe.runIf(serverInstalled('redis-server'))('Redis eviction bus across a server restart', () => {
  it('resets every subscriber after the server was killed and restarted, then delivers again', async () => {
    const server = await startRedisServer()
    const publisher = await redisEvictionBus({ url: server.url })
    const receiver = await redisEvictionBus({ url: server.url })
    try {
      const remote = listen(receiver, 'posts')
      const own = listen(publisher, 'posts')
      await publisher.publish({ topic: 'posts', ids: ['before'] })
      await eventually(() => remote.length + own.length, (n) => n >= 2, { what: 'the eviction before the crash' })

      await server.kill()
      expect(await rejectionOf(publisher.publish({ topic: 'posts', ids: ['lost'] }))).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })
      await server.restart()

      // Once a subscriber is reset, its subscription is back: whatever is published from then on arrives.
      await eventually(() => remote.includes('reset') && own.includes('reset'), Boolean, { what: 'both buses to reset' })
      await whenUp(() => publisher.publish({ topic: 'posts', ids: ['after'] }))
      for (const heard of [remote, own]) {
        await eventually(() => heard.includes('after'), Boolean, { what: 'the eviction after the restart' })
        expect(heard).toEqual(['before', 'reset', 'after'])
      }
    } finally {
      await Promise.all([publisher.close(), receiver.close()])
      await server.cleanup()
    }
  })

  it('cannot be opened while nothing answers', async () => {
    const server = await startRedisServer()
    await server.stop()
    try {
      expect(await rejectionOf(redisEvictionBus({ url: server.url }))).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })
    } finally {
      await server.cleanup()
    }
  })
})
