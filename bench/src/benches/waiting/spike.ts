import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { migrate, schemaName } from '@tidings/postgres'
import { ChildServer } from '../../lib/child'
import type { Throughput } from '../../lib/load'
import type { Report } from '../../lib/report'
import { formatRate } from '../../lib/stats'
import { memoryUsage, newQueueToken, REDIS_URL, RedisWaitingRoomStore, redisPid, scanKeys, waitingRoomMigrations, dropPrefix } from '../../lib/waiting-room'
import type { Workbench } from '../../lib/workbench'
import { wrkUntilAnswered, type WrkAnswered } from '../../lib/wrk'
import { tokensFile, type HttpRoom } from './http-room'
import { cpuSince, CROWD, headersOf, listenOverflows, mib, perOp, SPIKE_CONCURRENCY } from './measure'

/** The members of the library spike and their queue tokens (the PostgreSQL footprint stores the same). */
export interface Crowd {
  members: string[]
  tokens: string[]
}

export function crowd(count = CROWD): Crowd {
  return { members: Array.from({ length: count }, () => randomUUID()), tokens: Array.from({ length: count }, () => newQueueToken()) }
}

/** `count` calls of `op(i)`, `concurrency` at a time: the rate. */
async function inFlight(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Throughput> {
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => { for (let i = next++; i < count; i = next++) await op(i) }))
  const ms = performance.now() - started
  return { ops: count, ms, perSecond: (count * 1000) / ms }
}

/**
 * Figure 21: the crowd joins one room through `RedisWaitingRoomStore.join` (the joins in flight go to Redis
 * together, one Lua script for up to 256), 1,000 joins in flight on the store's connection, against a raw ZADD of the same tokens into
 * one sorted set on the same Redis, pipelined 1,000 at a time — raw, library, raw. Then what the room
 * takes in Redis (`MEMORY USAGE` of each of its keys); the memory figure (21m) is reported with the
 * PostgreSQL footprint.
 */
export async function libraryEnqueue(report: Report, redis: Redis, prefix: string, { members, tokens }: Crowd): Promise<{ bytes: number; breakdown: string }> {
  const count = members.length
  const roomPrefix = `${prefix}:spike`
  const store = new RedisWaitingRoomStore(REDIS_URL, roomPrefix)
  const warmStore = new RedisWaitingRoomStore(REDIS_URL, `${prefix}:spike-warm-up`)
  const pids = { redis: redisPid() }
  try {
    const rawZadd = async (key: string, n: number) => {
      const rate = await inFlight(n / SPIKE_CONCURRENCY, 1, async (batch) => {
        const pipeline = redis.pipeline()
        for (let i = batch * SPIKE_CONCURRENCY; i < (batch + 1) * SPIKE_CONCURRENCY; i++) pipeline.zadd(key, i + 1, tokens[i]!)
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error
      })
      await redis.unlink(key)
      return { ...rate, ops: n, perSecond: (n * 1000) / rate.ms }
    }
    // Warm-up (uncounted): both paths, in another room.
    const warmConcert = randomUUID()
    await rawZadd(`${prefix}:raw-warm-up`, 10_000)
    await inFlight(10_000, SPIKE_CONCURRENCY, async () => void (await warmStore.join(warmConcert, randomUUID(), newQueueToken(), new Date())))
    await dropPrefix(redis, `${prefix}:spike-warm-up`)

    const rounds: Throughput[] = []
    const rawCpu: Array<Record<string, number>> = []
    const rawRound = async (round: number) => {
      const spent = cpuSince(pids)
      rounds.push(await rawZadd(`${prefix}:raw-${round}`, count))
      rawCpu.push(spent())
    }
    await rawRound(1)
    const concertId = randomUUID()
    const spent = cpuSince(pids)
    const joined = await inFlight(count, SPIKE_CONCURRENCY, async (i) => {
      const { created, token } = await store.join(concertId, members[i]!, tokens[i]!, new Date())
      if (!created || token.status !== 'WAITING') throw new Error(`figure 21: join ${i} answered ${JSON.stringify({ created, token })}`)
    })
    const joinCpu = spent()
    await rawRound(2)
    const raw: Throughput = { ops: rounds[0]!.ops + rounds[1]!.ops, ms: rounds[0]!.ms + rounds[1]!.ms, perSecond: 0 }
    raw.perSecond = (raw.ops * 1000) / raw.ms
    const rawSpent = { this: rawCpu[0]!.this! + rawCpu[1]!.this!, redis: rawCpu[0]!.redis! + rawCpu[1]!.redis! }
    const ratio = joined.perSecond / raw.perSecond
    report.add({
      id: '21',
      figure: `spike: ${count.toLocaleString('en-US')} members join one room through RedisWaitingRoomStore.join, ${SPIKE_CONCURRENCY.toLocaleString('en-US')} in flight / raw ZADD pipeline`,
      value: formatRate(joined.perSecond, 'joins/s'),
      ceiling: `raw ZADD ${formatRate(raw.perSecond, '/s')}`,
      ratio,
      goal: '≥ 0.50',
      met: ratio >= 0.5,
    })
    const names = { this: 'bench process (client)', redis: 'Redis' }
    report.detail(
      `21: ${count.toLocaleString('en-US')} joins in ${(joined.ms / 1000).toFixed(1)} s, raw ZADD ${raw.ops.toLocaleString('en-US')} in ${(raw.ms / 1000).toFixed(1)} s; ` +
        `CPU per join: ${perOp(joinCpu, count, names)}; per raw ZADD: ${perOp(rawSpent, raw.ops, names)} (the store sends the joins in flight together, up to 256 in one Lua script; a raw ZADD pipeline sends 1,000 commands at once)`,
    )

    const keys = await scanKeys(redis, `${roomPrefix}:*`)
    const kinds: Record<string, string[]> = { 'token hashes': [], 'live-token keys': [], 'line and presence sets': [], other: [] }
    for (const key of keys) {
      const rest = key.slice(roomPrefix.length + 1)
      const kind = rest.startsWith('t:') ? 'token hashes' : rest.includes(':live:') ? 'live-token keys' : /:(waiting|seen)$/.test(rest) ? 'line and presence sets' : 'other'
      kinds[kind]!.push(key)
    }
    let bytes = 0
    const parts: string[] = []
    for (const [kind, ofKind] of Object.entries(kinds)) {
      const b = await memoryUsage(redis, ofKind)
      bytes += b
      parts.push(`${kind} ${mib(b)} (${ofKind.length.toLocaleString('en-US')} keys)`)
    }
    await dropPrefix(redis, roomPrefix)
    return { bytes, breakdown: parts.join(', ') }
  } finally {
    store.close()
    warmStore.close()
  }
}

/**
 * The same crowd in the PostgreSQL store's table: `concert_waiting.tokens` (its migrations, in a schema of
 * the bench) with one WAITING row per member as `PgWaitingRoomStore.join` writes it (arrival number from
 * the sequence), inserted 10,000 a statement, then `pg_total_relation_size` (heap, indexes, TOAST).
 */
export async function postgresFootprint(bench: Workbench, { members, tokens }: Crowd): Promise<{ total: number; heap: number; indexes: number }> {
  const schema = await bench.serverSchema('waiting_tokens')
  await migrate(bench.admin, schema, 'concert.waiting', waitingRoomMigrations)
  const s = schemaName(schema)
  const concertId = randomUUID()
  for (let from = 0; from < members.length; from += 10_000) {
    await bench.admin.query(
      `INSERT INTO ${s}.tokens (token, concert_id, member_id, status, joined_at, seq)
       SELECT t, $3, m, 'WAITING', $4, nextval('${s}.arrivals') FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(t, m, n) ORDER BY n`,
      [tokens.slice(from, from + 10_000), members.slice(from, from + 10_000), concertId, new Date().toISOString()],
    )
  }
  const { rows } = await bench.admin.query<{ total: string; heap: string; indexes: string }>(
    `SELECT pg_total_relation_size('${s}.tokens') AS total, pg_relation_size('${s}.tokens') AS heap, pg_indexes_size('${s}.tokens') AS indexes`,
  )
  return { total: Number(rows[0]!.total), heap: Number(rows[0]!.heap), indexes: Number(rows[0]!.indexes) }
}

/** Figure 21m: the memory figures of 21 (Redis) and of the PostgreSQL store. */
export function reportFootprint(report: Report, count: number, redis: { bytes: number; breakdown: string }, pg: { total: number; heap: number; indexes: number }): void {
  const per = (bytes: number) => `${Math.round(bytes / count).toLocaleString('en-US')} B/member`
  report.add({
    id: '21m',
    figure: `memory of one room with ${count.toLocaleString('en-US')} waiting: Redis MEMORY USAGE over its keys; PostgreSQL concert_waiting.tokens (pg_total_relation_size)`,
    value: `Redis ${mib(redis.bytes)} (${per(redis.bytes)}); PostgreSQL ${mib(pg.total)} (${per(pg.total)})`,
    goal: 'reported',
  })
  report.detail(`21m: Redis ${redis.breakdown}; PostgreSQL heap ${mib(pg.heap)} + 5 indexes ${mib(pg.indexes)} (the presence table, written by ticks, not counted)`)
}

/**
 * Figure 21b: members join one room over HTTP (POST /api/concerts/:id/queue, each with its own bearer
 * token), wrk opening its 1,000 connections at once as a spike does, against the bare node:http server
 * answering the same requests with the same bytes: bare, app, bare, each after a warm-up on other members
 * and another concert. The rate is that of the middle 80 % of the answers (10 % → 90 %); the ends (first
 * answer → last, requests lost with their connections) are detail lines. 20,000 members: at about 1.5 ms
 * of the server's CPU per join, 100,000 would take one server process ~2.5 minutes (the room is filled up
 * to 100,000 through the store afterwards, for figure 22).
 */
export async function httpEnqueue(bench: Workbench, report: Report, room: HttpRoom, spikeTokens: string[], warmTokens: string[], sampleToken: string): Promise<{ concertId: string; joined: number }> {
  const spikeConcert = await room.schedule()
  const warmConcert = await room.schedule() // scheduled after: once the room knows it, it knows the spike's concert
  const [spikeFile, warmFile] = [await tokensFile(room, 'spike.txt', spikeTokens), await tokensFile(room, 'warm-up.txt', warmTokens)]
  const run = (url: string, file: string, concertId: string) =>
    wrkUntilAnswered({ url, connections: SPIKE_CONCURRENCY, threads: 2, args: [file, concertId], expected: file === spikeFile ? spikeTokens.length : warmTokens.length })

  await run(room.server.url, warmFile, warmConcert)
  const sample = await room.join(warmConcert, sampleToken)
  if (sample.status !== 201 || !sample.body.includes('"WAITING"')) throw new Error(`figure 21b: a join answered ${sample.status} ${sample.body}`)
  const bare = await ChildServer.start('./bare-server.ts', 'bare node:http', {})
  bench.adopt(() => bare.stop())
  const headers = headersOf(sample.rawHeaders)
  await bare.call('documents', [warmConcert, spikeConcert].map((id) => [`/api/concerts/${id}/queue`, sample.body, headers]))
  await run(bare.url, warmFile, warmConcert)

  const pids = { redis: redisPid() }
  const measured = async (server: ChildServer, file: string, concertId: string) => {
    const spent = cpuSince({ ...pids, server: server.pid })
    const overflowed = listenOverflows()
    const result = await run(server.url, file, concertId)
    const charged: Record<string, number> = { ...spent(), wrk: result.wrk.wrkCpuMs }
    return { result, spent: charged, overflows: listenOverflows() - overflowed }
  }
  const bare1 = await measured(bare, spikeFile, spikeConcert)
  const app = await measured(room.server, spikeFile, spikeConcert)
  const bare2 = await measured(bare, spikeFile, spikeConcert)
  await bare.stop()

  const count = spikeTokens.length
  const h = (bare1.result.middlePerSecond + bare2.result.middlePerSecond) / 2
  const ratio = app.result.middlePerSecond / h
  const joined = app.result.ok
  const inRoom = (await room.redis.zcard(room.keys(spikeConcert).waiting)) + (await room.redis.zcard(room.keys(spikeConcert).active))
  if (inRoom !== joined) throw new Error(`figure 21b: ${inRoom} tokens in the room after ${joined} joins answered 201`)
  report.add({
    id: '21b',
    figure: `spike over HTTP: ${count.toLocaleString('en-US')} members POST /api/concerts/:id/queue (own JWT each), ${SPIKE_CONCURRENCY.toLocaleString('en-US')} connections opened at once (wrk), 10→90 % of the answers / H`,
    value: formatRate(app.result.middlePerSecond, 'joins/s'),
    ceiling: `H: bare node:http ${formatRate(h, 'req/s')}`,
    ratio,
    goal: '≥ 0.30',
    met: ratio >= 0.3,
  })
  const names = { server: 'server process', redis: 'Redis', wrk: 'wrk' }
  const bareSpent = { server: bare1.spent.server! + bare2.spent.server!, wrk: bare1.spent.wrk! + bare2.spent.wrk! }
  const ends = (r: WrkAnswered) => `${(r.ms / 1000).toFixed(1)} s (${formatRate((r.ok * 1000) / r.ms, '/s')})`
  report.detail(
    `21b: first answer → last: app ${ends(app.result)}, bare ${ends(bare1.result)} and ${ends(bare2.result)}; ` +
      `wrk p50/p99 app ${app.result.wrk.latency?.p50.toFixed(0)}/${app.result.wrk.latency?.p99.toFixed(0)} ms, bare ${bare1.result.wrk.latency?.p50.toFixed(0)}/${bare1.result.wrk.latency?.p99.toFixed(0)} ms; ` +
      `joins lost with their connection: app ${app.result.lost}, bare ${bare1.result.lost + bare2.result.lost}; accept-queue overflows (kernel, TcpExt ListenOverflows): app ${app.overflows}, bare ${bare1.overflows + bare2.overflows}`,
  )
  report.detail(`21b CPU per join: app ${perOp(app.spent, joined, names)}; bare ${perOp(bareSpent, bare1.result.ok + bare2.result.ok, names)}`)
  return { concertId: spikeConcert, joined }
}
