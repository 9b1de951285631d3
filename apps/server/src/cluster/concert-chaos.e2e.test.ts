import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import { eventually, serverInstalled, startNatsServer, startProcess, startRedisServer, TEST_DATABASE_POOL, testEngines, type ManagedProcess, type ThrowawayServer } from '@tidings/testing'
import { chaosTimeline } from './chaos-timeline'

/** Members in all, the figure (CONCERT_CHAOS_MEMBERS changes it); half of them find a seat. */
const MEMBERS = Number(process.env.CONCERT_CHAOS_MEMBERS ?? 1_000)
const SEATS_PER_PERFORMANCE = Math.ceil(MEMBERS / 4)
const PRICE = 1_000
const CHARGE = 1_500
const KILLS = 20
/** Members going through the room at once (joined and not done). */
const AT_ONCE = 150
const OPERATOR_SECRET = 'concert-chaos-operator-secret'
/** The concert services, each SIGKILLed in turn (in a random order each round) until `KILLS` kills. */
const SERVICES = ['concert.waiting', 'concert.active', 'concert.expiration', 'concert.channel', 'concert.concert', 'concert.wallet', 'concert.payment']

const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[concert] SKIPPED the concert chaos test: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')
const installed = serverInstalled('nats-server') && serverInstalled('redis-server')

interface Listening {
  service?: string
  port?: number
  pid?: number
}

/** What one member did, as the API answered them. */
interface Visit {
  member: Member
  tokens: string[]
  charged: number
  /** Payments the API answered COMPLETED, with their reservation. */
  paid: Array<{ paymentId: string; reservationId: string }>
  /** Payments that ended otherwise (FAILED: nothing taken; REFUNDED). */
  unpaid: string[]
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * `TIDINGS_APPS=concert npm run start:cluster` under faults, on throwaway NATS and Redis and a fresh
 * PostgreSQL database: every member charges their wallet, joins the waiting room (capacity 100), waits
 * for their turn, holds a seat and pays, while the concert services are SIGKILLed 20 times at random
 * (the cluster starts each again) and Redis — the waiting room, the eviction bus — is restarted once.
 * Clients retry what failed as a real one would: the same `Idempotency-Key` for a charge or a payment,
 * a poll of a payment answered 202. Then every completed payment's seat is RESERVED by its payer, no seat
 * is sold twice, every payment that did not complete took nothing or was refunded, each wallet holds
 * what its member charged less what their completed payments took (money conserved), and every token
 * ended COMPLETED or EXPIRED.
 */
describe.runIf(engine !== undefined && installed)(`the concert cluster under faults: ${MEMBERS} members, ${KILLS} kills, a Redis restart`, () => {
  const servers: ThrowawayServer[] = []
  let cluster: ManagedProcess | undefined
  const { mark, print } = chaosTimeline()

  afterAll(async () => {
    await cluster?.kill('SIGTERM')
    for (const server of servers) await server.cleanup()
    print('concert')
    // What the services logged as errors (a fault the test did not cause shows here).
    const errors = (cluster?.lines ?? []).filter((l) => /"level":(50|60)/.test(l) || (/exited/.test(l) && !l.includes('"signal":"SIGKILL"')))
    if (errors.length > 0) console.log(`[concert] chaos, errors logged:\n  ${errors.slice(-40).join('\n  ')}`)
  })

  it('keeps every seat, payment, wallet and token right', async () => {
    const [nats, redis] = await Promise.all([startNatsServer(), startRedisServer()])
    servers.push(nats, redis)
    const database = await engine!.freshDatabase()
    cluster = startProcess('concert cluster', new URL('./cluster-main.ts', import.meta.url), {
      DATABASE_URL: database.url,
      PORT: '0',
      TRANSPORT: 'nats',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      TIDINGS_APPS: 'concert',
      TIDINGS_OPERATOR_TOKEN: OPERATOR_SECRET,
      TIDINGS_DEMO_CONCERT: 'off',
      TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
      TIDINGS_SCRYPT_COST: '14',
      CONCERT_ACTIVE_CAPACITY: '100',
      CONCERT_HOLD_TTL_MS: '60000',
      LOG_LEVEL: 'info',
    })
    const ready = JSON.parse(await cluster.waitForLine((l) => l.includes('cluster listening'), 120_000)) as { port: number }
    const gateway = new BoardClient(`http://127.0.0.1:${ready.port}`)
    mark('cluster up')

    /** Sends until the answer is not a fault of the way (network, 502–504, a service restarting); a client's retry. */
    const send = async <T = Record<string, unknown>>(method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) => {
      for (let attempt = 0; ; attempt++) {
        const answer = await gateway.call<T>(method, path, options).catch(() => undefined)
        if (answer && ![502, 503, 504].includes(answer.status)) return answer
        if (attempt > 600) throw new Error(`${method} ${path}: no answer after ${attempt} tries (last ${answer?.status})`)
        await pause(100 + Math.random() * 200)
      }
    }

    const startsAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString()
    const scheduled = await send<{ concertId: string; performances: Array<{ performanceId: string }> }>('POST', '/api/concerts', {
      token: OPERATOR_SECRET,
      body: { title: 'Chaos night', performances: [0, 1].map(() => ({ startsAt, seatCount: SEATS_PER_PERFORMANCE, price: PRICE })) },
    })
    expect(scheduled.status).toBe(201)
    const { concertId } = scheduled.body
    const performances = scheduled.body.performances.map((p) => p.performanceId)

    // Members sign up as others already go through the room (a sign-up is two password hashes).
    const members: Member[] = []
    let signedUp = 0
    const signingUp = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        while (signedUp < MEMBERS) {
          signedUp++
          members.push(await gateway.newMember(`fan${w}x${signedUp}`))
        }
      }),
    ).then(() => mark(`${members.length} members signed up`))
    const visits: Visit[] = []
    const failures: string[] = []
    let done = 0

    const visit = async (member: Member): Promise<void> => {
      const v: Visit = { member, tokens: [], charged: 0, paid: [], unpaid: [] }
      visits.push(v)
      const token = member.token
      const charge = await send<{ balance: number }>('POST', '/api/wallet/charges', { token, body: { amount: CHARGE }, headers: { 'Idempotency-Key': randomUUID() } })
      if (charge.status !== 200) return void failures.push(`charge: ${charge.status} ${JSON.stringify(charge.body)}`)
      v.charged = CHARGE
      // Join, and wait for the turn (polling); a token that ended meanwhile (it went idle, a payment of an earlier visit) means joining again.
      let queueToken: string | undefined
      for (let turn = 0; !queueToken && turn < 20; turn++) {
        const joined = await send<{ token: string; status: string }>('POST', `/api/concerts/${concertId}/queue`, { token })
        if (joined.status !== 201 && joined.status !== 200) return void failures.push(`join: ${joined.status} ${JSON.stringify(joined.body)}`)
        if (!v.tokens.includes(joined.body.token)) v.tokens.push(joined.body.token)
        let status = joined.body.status
        while (status === 'WAITING') {
          await pause(500)
          status = (await send<{ status: string }>('GET', `/api/queue/${joined.body.token}`)).body.status
        }
        if (status === 'ACTIVE') queueToken = joined.body.token
      }
      if (!queueToken) return void failures.push('never admitted')
      const active = { 'Queue-Token': queueToken }
      // Hold a free seat: up to five tries on seats others took meanwhile.
      let reservationId: string | undefined
      for (let attempt = 0; !reservationId && attempt < 5; attempt++) {
        const performanceId = performances[attempt % performances.length]!
        const seats = await send<{ seats: Array<{ seatNo: number; status: string }> }>('GET', `/api/performances/${performanceId}/seats`, { token, headers: active })
        if (seats.status !== 200) break // the turn ended (e.g. its time ran out): leave
        const free = seats.body.seats.filter((s) => s.status === 'AVAILABLE')
        if (free.length === 0) continue
        const seatNo = free[Math.floor(Math.random() * free.length)]!.seatNo
        const held = await send<{ reservationId: string; code?: string }>('POST', '/api/reservations', { token, body: { performanceId, seatNo }, headers: active })
        if (held.status === 201) reservationId = held.body.reservationId
        else if (held.body.code !== 'SEAT_TAKEN' && held.body.code !== 'HOLD_LIMIT') break
      }
      if (reservationId) {
        const key = randomUUID()
        let paid = await send<{ paymentId: string; status: string; payment?: { paymentId: string } }>('POST', '/api/payments', { token, body: { reservationId }, headers: { 'Idempotency-Key': key, ...active } })
        if (paid.status === 202 || paid.status === 201 || paid.status === 409) {
          const paymentId = paid.body.paymentId ?? paid.body.payment?.paymentId
          if (paymentId) {
            while (paid.body.status === 'PENDING') {
              await pause(500)
              paid = await send('GET', `/api/payments/${paymentId}`, { token })
            }
            if (paid.body.status === 'COMPLETED') v.paid.push({ paymentId, reservationId })
            else v.unpaid.push(paymentId)
          }
        }
      }
      // A turn that did not end in a payment is given back.
      if (v.paid.length === 0) await send('DELETE', `/api/queue/${queueToken}`, { token })
    }

    let started = 0
    const nextMember = async (): Promise<Member | undefined> => {
      while (started < MEMBERS) {
        if (members.length > started) return members[started++]
        await pause(50)
      }
      return undefined
    }
    const visiting = Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        for (let member = await nextMember(); member; member = await nextMember()) {
          await visit(member).catch((error: unknown) => failures.push(String(error)))
          done++
        }
      }),
    )

    const listening = (): Map<string, Listening> => {
      const latest = new Map<string, Listening>()
      for (const line of cluster!.lines) {
        if (!line.includes('listening on')) continue
        const parsed = JSON.parse(line) as Listening
        if (parsed.service && parsed.pid) latest.set(parsed.service, parsed)
      }
      return latest
    }
    const killed = new Set<number>()
    /** SIGKILLs the service's process (the cluster starts it again); one killed before is waited for first. */
    const kill = async (service: string): Promise<void> => {
      const victim = await eventually(() => listening().get(service), (l) => l?.pid !== undefined && !killed.has(l.pid), { timeoutMs: 90_000, what: `${service} to be started again` })
      killed.add(victim!.pid!)
      process.kill(victim!.pid!, 'SIGKILL')
      mark(`${service} SIGKILLed after ${done} visits`)
    }
    const order: string[] = []
    while (order.length < KILLS) order.push(...[...SERVICES].sort(() => Math.random() - 0.5))
    for (let k = 0; k < KILLS; k++) {
      await eventually(() => done, (n) => n >= ((k + 1) * MEMBERS) / (KILLS + 2), { timeoutMs: 300_000, what: `visits before kill ${k + 1}` })
      await kill(order[k]!)
      if (k === Math.floor(KILLS / 2)) {
        await redis.stop()
        mark(`Redis stopped after ${done} visits`)
        await pause(1_000)
        await redis.restart()
        mark(`Redis up again after ${done} visits`)
      }
    }
    await signingUp
    await visiting
    mark(`${done} visits done`)
    expect(failures).toEqual([])
    expect(done).toBe(MEMBERS)

    const db = database.db
    // Every payment ends (a saga running when its process died goes on once it is back).
    await eventually(
      async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM concert_payment.sagas WHERE status NOT IN ('COMPLETED', 'COMPENSATED', 'FAILED')`)).rows[0]!.n,
      (n) => n === 0,
      { timeoutMs: 120_000, what: 'every payment to end' },
    )
    expect((await db.query(`SELECT id FROM concert_payment.sagas WHERE status = 'FAILED'`)).rows).toEqual([])

    // Every completed payment's seat is CONFIRMED for its payer; no seat is sold twice.
    const paid = visits.flatMap((v) => v.paid.map((p) => ({ ...p, member: v.member })))
    expect(paid.length).toBeGreaterThan(0)
    for (const { reservationId, paymentId, member } of paid) {
      const reservation = await send<{ status: string; paymentId: string }>('GET', `/api/reservations/${reservationId}`, { token: member.token })
      expect([reservation.status, reservation.body.status, reservation.body.paymentId]).toEqual([200, 'CONFIRMED', paymentId])
    }
    const sold = await db.query<{ n: number; seats: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (performance_id, seat_no))::int AS seats FROM concert_concert.reservations WHERE status = 'CONFIRMED'`,
    )
    expect(sold.rows[0]).toEqual({ n: paid.length, seats: paid.length })
    const reserved = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM concert_concert.seats WHERE status = 'RESERVED'`)
    expect(reserved.rows[0]!.n).toBe(paid.length)

    // Money: each wallet holds what its member charged less what their completed payments took; every
    // other payment took nothing or gave it back (its refund booked once).
    await eventually(
      async () => {
        const wrong: string[] = []
        for (const v of visits) {
          const balance = (await send<{ balance: number }>('GET', '/api/wallet', { token: v.member.token })).body.balance
          if (balance !== v.charged - PRICE * v.paid.length) wrong.push(`${v.member.memberId}: ${balance}, expected ${v.charged - PRICE * v.paid.length}`)
        }
        return wrong
      },
      (wrong) => wrong.length === 0,
      { timeoutMs: 60_000, what: 'every balance to be what was charged less what was paid' },
    )
    const ledger = await db.query<{ type: string; total: string }>(`SELECT type, sum(amount)::text AS total FROM concert_wallet.ledger GROUP BY type`)
    const totals = Object.fromEntries(ledger.rows.map((r) => [r.type, Number(r.total)]))
    const balances = Number((await db.query<{ total: string }>(`SELECT coalesce(sum(balance), 0)::text AS total FROM concert_wallet.wallets`)).rows[0]!.total)
    expect((totals.CHARGE ?? 0) + (totals.PAYMENT ?? 0) + (totals.REFUND ?? 0)).toBe(balances)
    expect(totals.CHARGE).toBe(visits.reduce((sum, v) => sum + v.charged, 0))
    expect(-(totals.PAYMENT ?? 0) - (totals.REFUND ?? 0)).toBe(PRICE * paid.length)
    mark(`${paid.length} seats sold, ${visits.reduce((n, v) => n + v.unpaid.length, 0)} payments refused or refunded, money conserved`)

    // Every token ends COMPLETED (its payment) or EXPIRED (given back).
    const tokens = visits.flatMap((v) => v.tokens)
    await eventually(
      async () => {
        const statuses = await Promise.all(tokens.map(async (t) => (await send<{ status: string }>('GET', `/api/queue/${t}`)).body.status))
        return statuses.filter((s) => s !== 'COMPLETED' && s !== 'EXPIRED')
      },
      (live) => live.length === 0,
      { timeoutMs: 60_000, what: 'every token to end COMPLETED or EXPIRED' },
    )
    mark(`${tokens.length} tokens ended`)
  }, 1_200_000)
})
