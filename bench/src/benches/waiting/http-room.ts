import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { ChildServer } from '../../lib/child'
import { KeepAliveClient, type Answer } from '../../lib/http-load'
import { randomUUID } from 'node:crypto'
import { newQueueToken, rawRedis, REDIS_URL, RedisWaitingRoomStore, scanKeys } from '../../lib/waiting-room'
import type { Workbench } from '../../lib/workbench'

const OPERATOR_TOKEN = 'bench-waiting-operator-token'
/** The key prefix `concertServices` gives the waiting room on Redis (it takes no other). */
const PRODUCT_PREFIX = 'tidings:waiting'

/** The concert system over HTTP with its waiting room on Redis (figures 21b and 22), and what the bench needs of it. */
export interface HttpRoom {
  server: ChildServer
  api: KeepAliveClient
  /** A connection to the room's Redis database, to read the line as the store keeps it. */
  redis: Redis
  /** The Redis database the room is in (`<url>/<db>`). */
  db: number
  dir: string
  /** The crowd's bearer tokens (each a member of its own). */
  tokens: string[]
  schedule(): Promise<string>
  join(concertId: string, token: string): Promise<Answer>
  keys(concertId: string): { waiting: string; active: string; activated: string }
  stop(): Promise<void>
}

/**
 * Starts the concert system (lib/waiting-server.ts) with a crowd of `crowd` members. The waiting room
 * has a fixed key prefix on Redis (`tidings:waiting`), so on the shared server it is given a database of
 * its own that was empty; at the end the bench deletes the keys of its own concerts there, and nothing else.
 */
export async function startHttpRoom(bench: Workbench, crowd: number, capacity: number): Promise<HttpRoom> {
  const { redis, db } = await emptyRedisDatabase()
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-waiting-'))
  bench.adopt(() => rm(dir, { recursive: true, force: true }))
  const concerts: string[] = []
  bench.adopt(async () => {
    await dropRooms(redis, concerts).catch((error: unknown) => console.error('could not delete the waiting room keys:', error))
    redis.disconnect()
  })
  const tokensFile = join(dir, 'members.txt')
  const server = await ChildServer.start('./waiting-server.ts', 'concert waiting room', {
    DATABASE_URL: await bench.serverDatabase('waiting'),
    WAITING_REDIS_URL: `${REDIS_URL}/${db}`,
    CROWD: String(crowd),
    TOKENS_FILE: tokensFile,
    OPERATOR_TOKEN,
    ACTIVE_CAPACITY: String(capacity),
  })
  bench.adopt(() => server.stop())
  const api = new KeepAliveClient(new URL(server.url))
  bench.adopt(async () => api.close())
  const tokens = (await readFile(tokensFile, 'utf8')).split('\n').filter((t) => t !== '')
  return {
    server,
    api,
    redis,
    db,
    dir,
    tokens,
    async schedule() {
      const startsAt = new Date(Date.now() + 30 * 24 * 3600_000).toISOString()
      const body = { title: 'Bench night', performances: [{ startsAt, seatCount: 100, price: 1_000 }] }
      const answer = await api.request('POST', '/api/concerts', { body, headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } })
      if (answer.status !== 201) throw new Error(`scheduling a concert: ${answer.status} ${answer.body}`)
      const concertId = (JSON.parse(answer.body) as { concertId: string }).concertId
      concerts.push(concertId)
      return concertId
    },
    join: (concertId, token) => api.request('POST', `/api/concerts/${concertId}/queue`, { headers: { authorization: `Bearer ${token}` } }),
    keys: (concertId) => {
      const c = `${PRODUCT_PREFIX}:c:${concertId}`
      return { waiting: `${c}:waiting`, active: `${c}:active`, activated: `${c}:activated` }
    },
    stop: () => server.stop(),
  }
}

/**
 * Members join the concert's room straight through its store (the room's own Redis database and key
 * prefix), 1,000 at a time, until it holds `size` tokens: what joining over HTTP would have left there.
 */
export async function fillRoom(room: HttpRoom, concertId: string, size: number): Promise<void> {
  const store = new RedisWaitingRoomStore(`${REDIS_URL}/${room.db}`, PRODUCT_PREFIX)
  try {
    const keys = room.keys(concertId)
    const missing = size - (await room.redis.zcard(keys.waiting)) - (await room.redis.zcard(keys.active))
    for (let from = 0; from < missing; from += 1_000) {
      await Promise.all(Array.from({ length: Math.min(1_000, missing - from) }, () => store.join(concertId, randomUUID(), newQueueToken(), new Date())))
    }
  } finally {
    store.close()
  }
}

/** Writes the tokens one a line (for wrk's scripts); the file's path. */
export async function tokensFile(room: HttpRoom, name: string, tokens: readonly string[]): Promise<string> {
  const path = join(room.dir, name)
  await writeFile(path, `${tokens.join('\n')}\n`)
  return path
}

/** The highest-numbered database of the shared Redis that holds no key (0 is the default everyone uses). */
async function emptyRedisDatabase(): Promise<{ redis: Redis; db: number }> {
  for (let db = 15; db >= 1; db--) {
    const redis = rawRedis(`${REDIS_URL}/${db}`)
    if ((await redis.dbsize()) === 0) return { redis, db }
    redis.disconnect()
  }
  throw new Error('The shared Redis has no empty database for the waiting room (its key prefix is fixed)')
}

/** Deletes the rooms of these concerts: their keys, their tokens' hashes, the arrival counter when no other room is left. */
async function dropRooms(redis: Redis, concertIds: readonly string[]): Promise<void> {
  if (concertIds.length === 0) return
  const ours = new Set(concertIds)
  const doomed = (await scanKeys(redis, `${PRODUCT_PREFIX}:c:*`)).filter((key) => ours.has(key.split(':')[3] ?? ''))
  const tokenKeys = await scanKeys(redis, `${PRODUCT_PREFIX}:t:*`)
  for (let i = 0; i < tokenKeys.length; i += 5_000) {
    const page = tokenKeys.slice(i, i + 5_000)
    const pipeline = redis.pipeline()
    for (const key of page) pipeline.hget(key, 'concert')
    const concerts = (await pipeline.exec()) ?? []
    page.forEach((key, j) => ours.has(String(concerts[j]?.[1])) && doomed.push(key))
  }
  for (let i = 0; i < doomed.length; i += 5_000) await redis.unlink(...doomed.slice(i, i + 5_000))
  await redis.srem(`${PRODUCT_PREFIX}:concerts`, ...concertIds)
  if ((await redis.scard(`${PRODUCT_PREFIX}:concerts`)) === 0) await redis.del(`${PRODUCT_PREFIX}:concerts`, `${PRODUCT_PREFIX}:seq`)
}
