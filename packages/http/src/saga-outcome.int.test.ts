import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seatPaymentWorld, testEngines, type SeatPaymentWorld } from '@tidings/testing'
import { createHttpApp } from './create-http-app'
import { answerWithSaga } from './saga-outcome'

for (const engine of await testEngines()) {
  describe(`a route that waits for its saga on ${engine.name}`, () => {
    let world: SeatPaymentWorld
    const app = createHttpApp()

    beforeAll(async () => {
      const db = await engine.db()
      world = await seatPaymentWorld(db, { orchestrator: await engine.freshSchema('horch'), wallet: await engine.freshSchema('hwallet'), seats: await engine.freshSchema('hseats') })
      world.start()
      await world.deposit('ann', 100)
      app.post('/api/payments/:id', async (c) => {
        const id = c.req.param('id')
        await world.orchestrator.run((tx) => world.runner.start(tx, world.definition, { paymentId: id, member: 'ann', seat: id, amount: 10 }, { id }))
        return answerWithSaga(c, world.runner, id, { location: `/api/payments/${id}`, progress: [world.subscriptions.replies], timeoutMs: Number(c.req.query('wait') ?? 5_000) })
      })
    })
    afterAll(() => world?.stop())

    it('answers 200 with the final saga when it ends in time', async () => {
      const response = await app.request('/api/payments/pay-1', { method: 'POST' })
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ id: 'pay-1', type: 'test.pay-for-seat', status: 'COMPLETED' })
    })

    it('answers 202 with where to look when it has not, and the retried request starts nothing new', async () => {
      await world.subscriptions.seats.stop()
      const pending = await app.request('/api/payments/pay-2?wait=200', { method: 'POST' })
      expect(pending.status).toBe(202)
      expect(pending.headers.get('location')).toBe('/api/payments/pay-2')
      expect(await pending.json()).toEqual({ id: 'pay-2', type: 'test.pay-for-seat', status: 'RUNNING' })
      world.subscriptions.seats.start()
      const again = await app.request('/api/payments/pay-2', { method: 'POST' })
      expect(again.status).toBe(200)
      expect(await again.json()).toMatchObject({ id: 'pay-2', status: 'COMPLETED' })
      expect(await world.balance('ann')).toBe(80)
    })
  })
}
