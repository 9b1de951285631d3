import { afterEach, describe, expect, it } from 'vitest'
import { inProcessEvictionBus, type EvictionBus } from '@tidings/core'
import { schemaName } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { concertOverHttp, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'
import { CONCERT_SCHEMA } from './concert.service'

/** Two instances of the concert system on one database: each keeps the seat lists it served until a seat changes. */
for (const engine of await testEngines()) {
  describe(`seat lists cached by two instances on ${engine.name}`, () => {
    const apps: ConcertOverHttp[] = []
    afterEach(async () => {
      for (const app of apps.splice(0).reverse()) await app.close()
    })

    async function twoInstances(buses: [EvictionBus, EvictionBus]) {
      const first = await concertOverHttp(engine, { crowd: true, evictions: buses[0] })
      const second = await concertOverHttp(engine, { crowd: first.issuer!, evictions: buses[1], db: first.db })
      apps.push(first, second)
      const { concertId, performanceId } = await first.performance(6, 10_000)
      const [member] = await first.crowd(1)
      const [queueToken] = await first.admit(concertId, member!)
      return { first, second, performanceId, member: { ...member!, queueToken: queueToken! } }
    }
    const statuses = async (app: ConcertOverHttp, member: Member & { queueToken: string }, performanceId: string) =>
      ((await app.call('GET', `/api/performances/${performanceId}/seats`, member.token, undefined, { 'Queue-Token': member.queueToken })).body.seats as Array<{ status: string }>)
        .map((s) => s.status[0])
        .join('')
    /** A seat changed behind the services' backs (no event): only a list read from the database shows it. */
    const changedUnseen = (app: ConcertOverHttp, performanceId: string) =>
      app.db.query(`UPDATE ${schemaName(CONCERT_SCHEMA)}.seats SET status = 'RESERVED' WHERE performance_id = $1 AND seat_no = 6`, [performanceId])

    it('a hold on one instance drops the list the other one cached, through the eviction bus', async () => {
      const bus = inProcessEvictionBus()
      const { first, second, performanceId, member } = await twoInstances([bus, bus])
      expect(await statuses(second, member, performanceId)).toBe('AAAAAA')
      await changedUnseen(first, performanceId)
      expect(await statuses(second, member, performanceId)).toBe('AAAAAA') // served from its copy
      expect((await first.call('POST', '/api/reservations', member.token, { performanceId, seatNo: 2 })).status).toBe(201)
      expect(await statuses(second, member, performanceId)).toBe('AHAAAR')
      expect(await statuses(first, member, performanceId)).toBe('AHAAAR')
    })

    it('without a bus between them, the other instance keeps its copy (what the bus is for)', async () => {
      const { first, second, performanceId, member } = await twoInstances([inProcessEvictionBus(), inProcessEvictionBus()])
      expect(await statuses(second, member, performanceId)).toBe('AAAAAA')
      expect((await first.call('POST', '/api/reservations', member.token, { performanceId, seatNo: 2 })).status).toBe(201)
      expect(await statuses(second, member, performanceId)).toBe('AAAAAA')
      expect(await statuses(first, member, performanceId)).toBe('AHAAAA')
    })
  })
}
