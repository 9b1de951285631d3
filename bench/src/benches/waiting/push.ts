import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { silentLogger, systemClock } from '@tidings/core'
import { redisEvictionBus } from '@tidings/redis'
import { ChildServer, wallNow } from '../../lib/child'
import { MachineBusy } from '../../lib/cpu'
import { SCALE } from '../../lib/env'
import type { Report } from '../../lib/report'
import { distribution, formatMs } from '../../lib/stats'
import { DEFAULT_WAITING_ROOM, newQueueToken, REDIS_URL, RedisWaitingRoomStore, roomKeys, WaitingRoom } from '../../lib/waiting-room'
import type { Workbench } from '../../lib/workbench'

/** WebSocket and SSE clients each: 10,000, or what the channel process's open-files limit leaves room for. */
const PER_KIND = SCALE >= 1 ? 10_000 : Math.max(500, Math.round(10_000 * SCALE))
/** Members admitted at once in each round: every connected waiter behind them moves up by as many. */
const ADMITTED = 100
const ROUNDS = 3

interface MemoryUsage {
  rss: number
  heapTotal: number
  heapUsed: number
  external: number
}

/**
 * Figure 23: the queue channel in a process of its own (lib/channel-server.ts: `channelService` over the
 * Redis store, changes on a Redis eviction bus), holders connected over WebSocket and SSE from two other
 * processes (lib/queue-clients.ts), one connection per waiting token. Three rounds: this process admits
 * 100 (`WaitingRoom.admit`, which announces the change on the bus) and each client notes when its new
 * view arrived (the clock the processes share). 23b: the channel's memory per idle connection (after
 * full collections); 23c: its CPU per view pushed.
 */
export async function push(bench: Workbench, report: Report, redis: Redis, prefix: string): Promise<void> {
  const roomPrefix = `${prefix}:push`
  const busPrefix = `${prefix}:bus`
  const channel = await ChildServer.start('./channel-server.ts', 'queue channel', { WAITING_REDIS_URL: REDIS_URL, WAITING_PREFIX: roomPrefix, BUS_PREFIX: busPrefix })
  bench.adopt(() => channel.stop())
  const fds = await channel.call<{ open: number; limit: number }>('fds')
  const perKind = Math.min(PER_KIND, Math.floor((fds.limit - fds.open - 64) / 2))
  const total = 2 * perKind

  const store = new RedisWaitingRoomStore(REDIS_URL, roomPrefix)
  const bus = await redisEvictionBus({ url: REDIS_URL, channelPrefix: busPrefix })
  const clients = { ws: await ChildServer.start('./queue-clients.ts', 'WebSocket clients', { QUEUE_CLIENT_KIND: 'ws' }), sse: await ChildServer.start('./queue-clients.ts', 'SSE clients', { QUEUE_CLIENT_KIND: 'sse' }) }
  bench.adopt(() => clients.ws.stop())
  bench.adopt(() => clients.sse.stop())
  try {
    // Everyone waiting, nobody admitted yet: joins straight into the store (a join admits nobody there).
    const concertId = randomUUID()
    for (let from = 0; from < total; from += 1_000) {
      await Promise.all(Array.from({ length: Math.min(1_000, total - from) }, () => store.join(concertId, randomUUID(), newQueueToken(), new Date())))
    }
    const line = await redis.zrange(roomKeys(roomPrefix, concertId).waiting, '0', '-1')
    const before = await channel.call<MemoryUsage>('memory')
    // Every other place in line over WebSocket, the rest over SSE, both connecting at once, 250 in flight each.
    const connectStarted = performance.now()
    const opened = await Promise.all(
      (['ws', 'sse'] as const).map((kind, k) => clients[kind].call<{ opened: number; failed: number; firstFailure?: string; ms: number }>('open', { base: channel.url, tokens: line.filter((_, i) => i % 2 === k), inFlight: 250 })),
    )
    const connectMs = performance.now() - connectStarted
    for (const o of opened) if (o.failed > 0) throw new Error(`figure 23: ${o.failed} connections failed: ${o.firstFailure}`)
    await sleep(2_000) // the reads of the room that new connections cause are over
    const connected = await channel.call<number>('connected')
    if (connected !== total) throw new Error(`figure 23: the channel holds ${connected} connections, not ${total}`)
    const after = await channel.call<MemoryUsage>('memory')
    const idleCpu0 = await channel.call<number>('cpu')
    const idleStarted = performance.now()
    await sleep(6_000) // at least one of the channel's 5-s rounds (every room read again)
    const idleCpuPerSecond = ((await channel.call<number>('cpu')) - idleCpu0) / (performance.now() - idleStarted) // µs per ms
    const latencies: number[] = []
    const perRound: string[] = []
    let pushed = 0
    let pushCpuUs = 0
    const busy = new MachineBusy()
    for (let round = 1; round <= ROUNDS; round++) {
      await Promise.all([clients.ws.call('arm'), clients.sse.call('arm')])
      const expected = total - ADMITTED * (round - 1)
      const cpu0 = await channel.call<number>('cpu')
      const t0 = wallNow()
      const room = new WaitingRoom({ store, settings: { ...DEFAULT_WAITING_ROOM, activeCapacity: ADMITTED * round }, clock: systemClock, logger: silentLogger, changes: bus })
      await room.admit(concertId)
      const deadline = performance.now() + 15_000
      let arrived = 0
      while (arrived < expected && performance.now() < deadline) {
        await sleep(20)
        arrived = (await Promise.all([clients.ws.call<number>('count'), clients.sse.call<number>('count')])).reduce((a, b) => a + b, 0)
      }
      pushCpuUs += (await channel.call<number>('cpu')) - cpu0
      const results = await Promise.all([clients.ws, clients.sse].map((c) => c.call<{ latencies: number[]; wrong: number }>('arrivals', { since: t0, moved: ADMITTED })))
      const wrong = results.reduce((n, r) => n + r.wrong, 0)
      if (arrived < expected || wrong > 0) throw new Error(`figure 23, round ${round}: ${arrived} of ${expected} clients got a new view within 15 s, ${wrong} of them not the one expected`)
      const round_ = results.flatMap((r) => r.latencies)
      latencies.push(...round_)
      pushed += round_.length
      const d = distribution(round_)
      perRound.push(`${formatMs(d.p50)}/${formatMs(d.p99)}/${formatMs(d.max)}`)
      await sleep(1_000)
    }
    const machine = busy.stop()
    await Promise.all([clients.ws.call('closeAll'), clients.sse.call('closeAll')])

    const d = distribution(latencies)
    report.add({
      id: '23',
      figure: `push: ${perKind.toLocaleString('en-US')} WebSocket + ${perKind.toLocaleString('en-US')} SSE clients on one channel process; ${ADMITTED} admitted → every client has its new view, p50 / p99 / max (${ROUNDS} rounds)`,
      value: `${formatMs(d.p50)} / ${formatMs(d.p99)} / ${formatMs(d.max)}`,
      goal: 'p99 ≤ 1 s',
      met: d.p99 <= 1_000,
    })
    const perConnection = (field: keyof MemoryUsage) => (after[field] - before[field]) / total / 1024
    report.add({
      id: '23b',
      figure: `channel process memory per idle connection (RSS delta / connections, after full GCs)`,
      value: `${perConnection('rss').toFixed(1)} KiB (heap ${perConnection('heapUsed').toFixed(1)} KiB)`,
      goal: '≤ 16 KiB',
      met: perConnection('rss') <= 16,
    })
    report.add({ id: '23c', figure: `channel process CPU per view pushed (process.cpuUsage delta of the rounds / views received)`, value: `${(pushCpuUs / pushed).toFixed(1)} µs`, goal: 'reported' })
    report.detail(
      `23: rounds p50/p99/max ${perRound.join('; ')}; ${total.toLocaleString('en-US')} connected in ${(connectMs / 1000).toFixed(1)} s (clients' own: ws ${(opened[0]!.ms / 1000).toFixed(1)} s, sse ${(opened[1]!.ms / 1000).toFixed(1)} s); ` +
        `times include the push interval (≤ 100 ms) and the clients' own event loops (10,000 views each); rounds: ${machine}`,
    )
    report.detail(
      `23b/c: channel RSS ${(before.rss / 1048576).toFixed(0)} → ${(after.rss / 1048576).toFixed(0)} MiB, V8 heap committed ${(before.heapTotal / 1048576).toFixed(0)} → ${(after.heapTotal / 1048576).toFixed(0)} MiB (${perConnection('heapTotal').toFixed(1)} KiB/connection), ` +
        `used ${(before.heapUsed / 1048576).toFixed(0)} → ${(after.heapUsed / 1048576).toFixed(0)} MiB, external +${perConnection('external').toFixed(1)} KiB/connection; ` +
        `idle with ${total.toLocaleString('en-US')} connections: ${(idleCpuPerSecond / 10).toFixed(1)} % of a core; open-files limit ${fds.limit} (${fds.open} in use before the clients)`,
    )
  } finally {
    store.close()
    await bus.close()
    await Promise.all([clients.ws.stop(), clients.sse.stop(), channel.stop()])
  }
}
