import { afterEach, describe, expect, it } from 'vitest'
import { inProcessEvictionBus } from '@tidings/core'
import { eventually, testEngines } from '@tidings/testing'
import { concertOverHttp, type ConcertOverHttp } from '../test-kit/concert-over-http'

/**
 * Two instances of the concert system on one database and one eviction bus: each keeps the ACTIVE queue
 * passes it read, and a token ended before its time stops passing on both at once.
 */
for (const engine of await testEngines()) {
  describe(`queue passes kept by two instances on ${engine.name}`, () => {
    const apps: ConcertOverHttp[] = []
    afterEach(async () => {
      for (const app of apps.splice(0).reverse()) await app.close()
    })

    async function twoInstances() {
      const bus = inProcessEvictionBus()
      const first = await concertOverHttp(engine, { crowd: true, evictions: bus })
      const second = await concertOverHttp(engine, { crowd: first.issuer!, evictions: bus, db: first.db })
      apps.push(first, second)
      const { concertId, performanceId } = await first.performance(6, 1_000)
      const [member] = await first.crowd(1)
      const [queueToken] = await first.admit(concertId, member!)
      /** What the member's seat list answers on `app`: it checks their pass. */
      const seats = async (app: ConcertOverHttp) => {
        const answer = await app.call('GET', `/api/performances/${performanceId}/seats`, member!.token, undefined, { 'Queue-Token': queueToken! })
        return answer.status === 200 ? 200 : `${answer.status} ${answer.body.code as string}`
      }
      return { first, second, performanceId, member: member!, queueToken: queueToken!, seats }
    }

    it('a member who leaves stops passing at once, on the instance they left on and on the other', async () => {
      const { first, second, member, queueToken, seats } = await twoInstances()
      expect([await seats(first), await seats(second)]).toEqual([200, 200])
      // Ended behind the room's back (no notice): both serve the pass they kept.
      const setStatus = (status: string) => first.db.query(`UPDATE concert_waiting.tokens SET status = $2 WHERE token = $1`, [queueToken, status])
      await setStatus('EXPIRED')
      expect([await seats(first), await seats(second)]).toEqual([200, 200])
      await setStatus('ACTIVE')
      expect((await first.call('DELETE', `/api/queue/${queueToken}`, member.token)).status).toBe(200)
      expect([await seats(first), await seats(second)]).toEqual(['403 QUEUE_TOKEN_NOT_ACTIVE', '403 QUEUE_TOKEN_NOT_ACTIVE'])
    })

    it('a member whose payment completed stops passing on both instances once the room has ended the token', async () => {
      const { first, second, performanceId, member, queueToken, seats } = await twoInstances()
      expect((await first.call('POST', '/api/wallet/charges', member.token, { amount: 1_000 })).status).toBe(200)
      const held = await first.call('POST', '/api/reservations', member.token, { performanceId, seatNo: 1 })
      expect([await seats(first), await seats(second)]).toEqual([200, 200])
      const paid = await first.call('POST', '/api/payments', member.token, { reservationId: held.body.reservationId }, { 'Idempotency-Key': `pass-${queueToken}` })
      expect(paid.status).toBe(201)
      await eventually(async () => (await first.call('GET', `/api/queue/${queueToken}`, undefined)).body.status, (s) => s === 'COMPLETED', { what: 'the payer’s token to complete' })
      expect([await seats(first), await seats(second)]).toEqual(['403 QUEUE_TOKEN_NOT_ACTIVE', '403 QUEUE_TOKEN_NOT_ACTIVE'])
    })
  })
}
