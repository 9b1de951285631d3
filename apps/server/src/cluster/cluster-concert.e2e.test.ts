import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import { openQueueSocket } from '@tidings/concert/test-kit'
import { eventually, openEventStream, serverInstalled, testEngines } from '@tidings/testing'
import { startAppCluster, type AppCluster } from './app-cluster'

/**
 * The concert system as a cluster (`TIDINGS_APPS=concert npm run start:cluster`): the identity service and
 * the concert, wallet, payment and waiting services each a process of its own on PostgreSQL, the payment saga's
 * commands and replies over NATS (a throwaway server), seat-list evictions over Redis, every request
 * through the one entry point.
 */
const OPERATOR_SECRET = 'cluster-concert-operator-secret'
const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[concert] SKIPPED the concert system as a cluster: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')

describe.runIf(engine !== undefined && serverInstalled('nats-server'))('the concert system as a cluster (npm run start:cluster), the saga over NATS', () => {
  let opened: AppCluster
  let gateway: BoardClient
  let ann: Member
  let eve: Member

  beforeAll(async () => {
    opened = await startAppCluster(engine!, 'concert', OPERATOR_SECRET)
    gateway = opened.gateway
    ;[ann, eve] = await Promise.all([gateway.newMember('ann'), gateway.newMember('eve')])
  }, 150_000)

  afterAll(() => opened?.stop())

  it('joins the waiting room, holds a seat and pays for it across the processes: the price taken once, the seat sold, for its payer only', async () => {
    const concerts = await gateway.call<{ items: Array<{ concertId: string; performances: Array<{ performanceId: string; price: number }> }> }>('GET', '/api/concerts')
    const [performance] = concerts.body.items[0]!.performances
    const queued = await gateway.call<{ token: string }>('POST', `/api/concerts/${concerts.body.items[0]!.concertId}/queue`, { token: ann.token })
    expect(queued).toMatchObject({ status: 201, body: { status: 'ACTIVE' } })
    expect(await gateway.call('GET', `/api/queue/${queued.body.token}`)).toMatchObject({ status: 200, body: { status: 'ACTIVE' } })
    expect(await gateway.call('POST', '/api/wallet/charges', { token: ann.token, body: { amount: 60_000 } })).toMatchObject({ status: 200, body: { balance: 60_000 } })
    const active = { 'Queue-Token': queued.body.token }
    expect(await gateway.call('POST', '/api/reservations', { token: ann.token, body: { performanceId: performance!.performanceId, seatNo: 7 } })).toMatchObject({ status: 401, body: { code: 'QUEUE_TOKEN_REQUIRED' } })
    const held = await gateway.call<{ reservationId: string }>('POST', '/api/reservations', { token: ann.token, body: { performanceId: performance!.performanceId, seatNo: 7 }, headers: active })
    expect(held).toMatchObject({ status: 201, body: { status: 'HELD', price: performance!.price } })
    const { reservationId } = held.body
    expect(await gateway.call('POST', '/api/payments', { token: eve.token, body: { reservationId }, headers: { 'Idempotency-Key': randomUUID(), ...active } })).toMatchObject({ status: 404, body: { code: 'RESERVATION_NOT_FOUND' } })
    const paid = await gateway.call<{ paymentId: string }>('POST', '/api/payments', { token: ann.token, body: { reservationId }, headers: { 'Idempotency-Key': randomUUID(), ...active } })
    expect(paid).toMatchObject({ status: 201, body: { status: 'COMPLETED', amount: performance!.price, balance: 60_000 - performance!.price } })
    expect(await gateway.call('GET', `/api/reservations/${reservationId}`, { token: ann.token })).toMatchObject({ body: { status: 'CONFIRMED', paymentId: paid.body.paymentId } })
    // The payment completed ann's queue token: eve, admitted, sees the seat sold.
    await eventually(async () => (await gateway.call<{ status: string }>('GET', `/api/queue/${queued.body.token}`)).body.status, (s) => s === 'COMPLETED', { what: 'ann’s token to complete' })
    const eveQueued = await gateway.call<{ token: string }>('POST', `/api/concerts/${concerts.body.items[0]!.concertId}/queue`, { token: eve.token })
    const seats = await gateway.call<{ seats: Array<{ status: string }> }>('GET', `/api/performances/${performance!.performanceId}/seats`, { token: eve.token, headers: { 'Queue-Token': eveQueued.body.token } })
    expect(seats.body.seats[6]!.status).toBe('RESERVED')
    expect(await gateway.call('GET', `/api/payments/${paid.body.paymentId}`, { token: eve.token })).toMatchObject({ status: 404 })
    expect(await gateway.call('GET', '/api/wallet', { token: ann.token })).toMatchObject({ body: { balance: 60_000 - performance!.price } })
  }, 60_000)

  it('pushes a holder its status over WebSocket and SSE through the gateway, from the channel process, told of changes over Redis', async () => {
    const joe = await gateway.newMember('joe')
    const concerts = await gateway.call<{ items: Array<{ concertId: string }> }>('GET', '/api/concerts')
    const queued = await gateway.call<{ token: string }>('POST', `/api/concerts/${concerts.body.items[0]!.concertId}/queue`, { token: joe.token })
    expect(queued).toMatchObject({ status: 201, body: { status: 'ACTIVE' } })
    const path = `/api/queue/${queued.body.token}`
    const socket = openQueueSocket(`${gateway.baseUrl.replace('http', 'ws')}${path}/ws`)
    const stream = await openEventStream(`${gateway.baseUrl}${path}/events`)
    try {
      expect(await socket.next()).toMatchObject({ token: queued.body.token, status: 'ACTIVE' })
      expect(JSON.parse((await stream.next('status')).data)).toMatchObject({ status: 'ACTIVE' })
      // The waiting room (another process) ends the token; the channel hears it and pushes the end.
      expect(await gateway.call('DELETE', path, { token: joe.token })).toMatchObject({ status: 200, body: { status: 'EXPIRED' } })
      expect(await socket.next()).toMatchObject({ status: 'EXPIRED' })
      expect(await socket.closed).toEqual({ code: 1000, reason: 'DONE' })
      expect(JSON.parse((await stream.next('status')).data)).toMatchObject({ status: 'EXPIRED' })
    } finally {
      socket.close()
      stream.close()
    }
  }, 30_000)

  it('passes on only the public paths: no internal route or feed of the concert system is reachable through it', async () => {
    for (const path of ['/internal/reservations/00000000-0000-7000-8000-000000000000', '/internal/reservations?ids=x', `/internal/queue-tokens/${'A'.repeat(32)}`, '/api/feeds/concert.payment?after=0', '/api/feeds/concert.wallet?after=0']) {
      expect((await gateway.call('GET', path)).status, path).toBe(404)
    }
  })
})
