/**
 * The queue channel for figure 23, as a process of its own (a child of the bench, see child.ts), as
 * `start:cluster` runs `concert.channel`: `channelService` over the waiting room's Redis store (key prefix
 * WAITING_PREFIX at WAITING_REDIS_URL), hearing the room's changes on a Redis eviction bus (BUS_PREFIX), served
 * by `serveHttp` with the service's WebSocket upgrade and SSE fast path. The service needs no database;
 * its context's pool is never used, so it never connects.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { serveHttp, serviceContext, servingOf } from '@tidings/http'
import { PgDatabase } from '@tidings/postgres'
import { redisEvictionBus } from '@tidings/redis'
import { serveParent, wallNow } from './child'
import { DATABASE_URL } from './env'
import { channelService, RedisWaitingRoomStore } from './waiting-room'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const url = process.env.WAITING_REDIS_URL!
const db = new PgDatabase({ connectionString: DATABASE_URL, maxConnections: 1 })
const changes = await redisEvictionBus({ url, channelPrefix: process.env.BUS_PREFIX! })
const service = channelService(serviceContext({ db }), { store: new RedisWaitingRoomStore(url, process.env.WAITING_PREFIX!), changes, ownsStore: true })
for (const worker of service.workers ?? []) worker.start()
const server = await serveHttp(service.routes, 0, { hostname: '127.0.0.1', ...servingOf(service) })

serveParent({
  now: () => wallNow(),
  /** After two full collections: what the connections keep, not what is garbage yet. */
  memory: () => {
    gc()
    gc()
    return process.memoryUsage()
  },
  /** This process's CPU time so far (user + system), µs. */
  cpu: () => {
    const { user, system } = process.cpuUsage()
    return user + system
  },
  connected: () => service.channel.connected,
  /** Open file descriptors and the soft limit on them: how many connections this process can take. */
  fds: () => ({ open: readdirSync('/proc/self/fd').length, limit: Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024) }),
  stop: () => {
    setImmediate(async () => {
      for (const worker of service.workers ?? []) await worker.stop().catch(() => {})
      await server.close().catch(() => {})
      service.close?.()
      await changes.close().catch(() => {})
      await db.close().catch(() => {})
      process.exit(0)
    })
    return true
  },
})
process.send?.({ ready: server.port })
