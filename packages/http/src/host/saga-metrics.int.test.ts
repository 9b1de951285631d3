import { afterAll, describe, expect, it } from 'vitest'
import { eventually, seatPaymentWorld, testEngines, type SeatPaymentWorld } from '@tidings/testing'
import { createMetrics } from './metrics'

const engine = (await testEngines())[0]!

describe(`saga metrics on ${engine.name}`, () => {
  let world: SeatPaymentWorld
  afterAll(() => world?.stop())

  it('counts sagas started and ended per type and status, times steps, and counts the open ones at each scrape', async () => {
    const metrics = createMetrics()
    const db = await engine.db()
    world = await seatPaymentWorld(db, { orchestrator: await engine.freshSchema('morch'), wallet: await engine.freshSchema('mwallet'), seats: await engine.freshSchema('mseats') }, { observer: metrics.sagas.observer })
    metrics.sagas.watch(world.runner)
    await world.deposit('ann', 100)
    const pay = async (paymentId: string, seat: string) => (await world.orchestrator.run((tx) => world.runner.start(tx, world.definition, { paymentId, member: 'ann', seat, amount: 10 }))).result.id
    const ids = [await pay('p1', 'A1'), await pay('p2', 'A1'), await pay('p3', 'A2')]
    let scraped = await metrics.registry.metrics()
    expect(scraped).toContain('tidings_sagas_started_total{type="test.pay-for-seat"} 3')
    expect(scraped).toContain('tidings_sagas_open{type="test.pay-for-seat",status="RUNNING"} 3')
    world.start()
    for (const id of ids) await eventually(() => world.runner.find(id), (s) => s?.status === 'COMPLETED' || s?.status === 'COMPENSATED', { what: `saga ${id}` })
    scraped = await metrics.registry.metrics()
    expect(scraped).toContain('tidings_sagas_ended_total{type="test.pay-for-seat",status="COMPLETED"} 2')
    expect(scraped).toContain('tidings_sagas_ended_total{type="test.pay-for-seat",status="COMPENSATED"} 1')
    expect(scraped).toContain('tidings_saga_step_duration_seconds_count{type="test.pay-for-seat",step="debit"} 3')
    expect(scraped).toContain('tidings_saga_step_duration_seconds_count{type="test.pay-for-seat",step="confirm"} 3')
    expect(scraped).not.toMatch(/tidings_sagas_open\{[^}]*\} [1-9]/)
  })
})
