import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProcess } from '@tidings/testing'
import { CLIENTS, SCALE, seconds } from '../lib/env'
import { KeepAliveClient, type Answer } from '../lib/http-load'
import { closedLoop } from '../lib/load'
import type { Report } from '../lib/report'
import { distribution, formatMs, formatRate } from '../lib/stats'
import type { Workbench } from '../lib/workbench'
import { rawOpenAccount } from '../lib/workload'

const serverScript = new URL('../lib/concert-server.ts', import.meta.url)
const OPERATOR_TOKEN = 'bench-concert-operator-token'
const SPIKE = 1_000
const PAYMENTS = Math.max(400, Math.round(2_000 * SCALE))
/** Payments sent at once: each request waits for its saga. */
const PAYING = 64

/**
 * Figure 19: 1,000 members hold one of 50 seats at once (each seat wanted by 20): holds answered per second
 * and the p99 of an answer. Figure 20: payments completed through the saga (debit the wallet, confirm the
 * seat) over HTTP, 64 at a time, each answered when its saga has completed, over W (figure 1's raw
 * transaction, 16 connections) measured just before. The concert system runs as `npm start` hosts it, in
 * a process of its own on PostgreSQL.
 */
export async function concert(bench: Workbench, report: Report): Promise<void> {
  const rawSchema = await bench.serverSchema('concert_raw')
  const clients = await bench.clients(CLIENTS)
  const w = await closedLoop(CLIENTS, seconds(5), (c) => rawOpenAccount(clients[c]!, rawSchema))

  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-concert-'))
  bench.adopt(() => rm(dir, { recursive: true, force: true }))
  const tokensFile = join(dir, 'tokens.json')
  const payers = PAYMENTS
  const server = startProcess('concert', serverScript, { DATABASE_URL: await bench.serverDatabase('concert'), CROWD: String(SPIKE + payers), TOKENS_FILE: tokensFile, OPERATOR_TOKEN })
  bench.adopt(async () => void (await server.kill('SIGTERM')))
  const port = (await server.waitForLine((l) => l.startsWith('listening '), 120_000)).slice('listening '.length)
  const api = new KeepAliveClient(new URL(`http://127.0.0.1:${port}`))
  bench.adopt(async () => api.close())
  const tokens = JSON.parse(await readFile(tokensFile, 'utf8')) as string[]
  const as = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra })
  const expectStatus = (answer: Answer, status: number, what: string) => {
    if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.body}`)
    return JSON.parse(answer.body) as Record<string, unknown>
  }
  const schedule = async (seatCounts: number[]) => {
    const startsAt = new Date(Date.now() + 30 * 24 * 3600_000).toISOString()
    const body = { title: 'Bench night', performances: seatCounts.map((seatCount) => ({ startsAt, seatCount, price: 1_000 })) }
    const scheduled = expectStatus(await api.request('POST', '/api/concerts', { body, headers: as(OPERATOR_TOKEN) }), 201, 'scheduling a concert')
    return (scheduled.performances as Array<{ performanceId: string }>).map((p) => ({ concertId: scheduled.concertId as string, performanceId: p.performanceId }))
  }

  /** Joins the concert's waiting room for each member (admitted at once): their `Queue-Token`s, in order. */
  const admitted = async (concertId: string, members: readonly string[]): Promise<string[]> => {
    const queueTokens: string[] = []
    for (let from = 0; from < members.length; from += CLIENTS) {
      const joined = await Promise.all(members.slice(from, from + CLIENTS).map(async (token) => expectStatus(await api.request('POST', `/api/concerts/${concertId}/queue`, { headers: as(token) }), 201, 'joining the waiting room').token as string))
      queueTokens.push(...joined)
    }
    return queueTokens
  }

  // 19: the spike on one small hall.
  const [hall] = await schedule([50])
  const spikeQueue = await admitted(hall!.concertId, tokens.slice(0, SPIKE))
  const spikeStarted = performance.now()
  const latencies: number[] = []
  const holds = await Promise.all(
    tokens.slice(0, SPIKE).map(async (token, i) => {
      const sent = performance.now()
      const answer = await api.request('POST', '/api/reservations', { body: { performanceId: hall!.performanceId, seatNo: (i % 50) + 1 }, headers: as(token, { 'queue-token': spikeQueue[i]! }) })
      latencies.push(performance.now() - sent)
      return answer.status
    }),
  )
  const spikeMs = performance.now() - spikeStarted
  const held = holds.filter((s) => s === 201).length
  const taken = holds.filter((s) => s === 409).length
  if (held !== 50 || taken !== SPIKE - 50) throw new Error(`figure 19: ${held} holds and ${taken} SEAT_TAKEN, not 50 and ${SPIKE - 50}`)
  const spike = distribution(latencies)
  report.add({ id: '19', figure: `${SPIKE} members on 50 seats at once: holds answered per second (50 held, the rest SEAT_TAKEN), p99`, value: `${formatRate((SPIKE / spikeMs) * 1000, 'holds/s')}, p99 ${formatMs(spike.p99)}`, goal: 'reported' })

  // 20: payments through the saga; every payer charged, holding four seats.
  // A payment completes its payer's queue token: each payer holds one seat and pays once.
  const payerTokens = tokens.slice(SPIKE)
  const performances = await schedule([10_000, 10_000])
  const payerQueue = await admitted(performances[0]!.concertId, payerTokens)
  const reservations: Array<{ token: string; queueToken: string; reservationId: string }> = []
  for (let from = 0; from < payerTokens.length; from += CLIENTS) {
    await Promise.all(
      payerTokens.slice(from, from + CLIENTS).map(async (token, j) => {
        const i = from + j
        const queueToken = payerQueue[i]!
        expectStatus(await api.request('POST', '/api/wallet/charges', { body: { amount: 10_000 }, headers: as(token) }), 200, 'charging a wallet')
        const body = { performanceId: performances[i % 2]!.performanceId, seatNo: Math.floor(i / 2) + 1 }
        reservations.push({ token, queueToken, reservationId: expectStatus(await api.request('POST', '/api/reservations', { body, headers: as(token, { 'queue-token': queueToken }) }), 201, 'holding a seat').reservationId as string })
      }),
    )
  }
  const payStarted = performance.now()
  let next = 0
  let completed = 0
  await Promise.all(
    Array.from({ length: PAYING }, async () => {
      for (let i = next++; i < reservations.length; i = next++) {
        const { token, queueToken, reservationId } = reservations[i]!
        const paid = await api.request('POST', '/api/payments', { body: { reservationId }, headers: as(token, { 'idempotency-key': randomUUID(), 'queue-token': queueToken }) })
        if (paid.status === 201) completed++
        else throw new Error(`figure 20: a payment answered ${paid.status} ${paid.body}`)
      }
    }),
  )
  const payMs = performance.now() - payStarted
  const perSecond = (completed / payMs) * 1000
  report.add({
    id: '20',
    figure: `payments completed through the saga over HTTP (${completed}, ${PAYING} at a time, each answered once its saga completed) / W`,
    value: formatRate(perSecond, 'payments/s'),
    ceiling: formatRate(w.perSecond, 'tx/s'),
    ratio: perSecond / w.perSecond,
    goal: '≥ 0.25',
    met: perSecond / w.perSecond >= 0.25,
  })
  report.detail(`19: ${SPIKE} holds in ${(spikeMs / 1000).toFixed(2)} s over ≤ 256 keep-alive sockets, p50 ${formatMs(spike.p50)}; 20: ${completed} payments in ${(payMs / 1000).toFixed(1)} s — a payment is five transactions (the route's start, the debit, its reply, the confirmation, its reply with the completion)`)
}
