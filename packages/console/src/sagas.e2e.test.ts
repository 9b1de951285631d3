import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpApp, serveHttp } from '@tidings/http'
import { eventually, seatPaymentWorld, testEngines, type SeatPaymentWorld } from '@tidings/testing'
import { consoleRoutes } from './console.routes'
import { Operations } from './operations'

const TOKEN = 'operator-secret-for-tests'
const AS_OPERATOR = { Authorization: `Bearer ${TOKEN}` }

for (const engine of await testEngines()) {
  describe(`sagas in the console on ${engine.name}`, () => {
    let world: SeatPaymentWorld
    let base: string
    let stopServer: () => Promise<void>
    let parkedId: string
    let completedId: string
    let db: Awaited<ReturnType<(typeof engine)['db']>>
    let schemas: { orchestrator: string; wallet: string; seats: string }

    const view = (path: string) => fetch(`${base}${path}`, { headers: AS_OPERATOR })
    const post = (path: string, token?: string) => fetch(`${base}${path}`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} })
    const problem = async (response: Response) => ({ status: response.status, code: ((await response.json()) as { code: string }).code })

    beforeAll(async () => {
      db = await engine.db()
      schemas = { orchestrator: await engine.freshSchema('corch'), wallet: await engine.freshSchema('cwallet'), seats: await engine.freshSchema('cseats') }
      world = await seatPaymentWorld(db, schemas, { timing: { compensationAttempts: 1, compensationTimeoutMs: 2_000 } })
      world.start()
      const app = createHttpApp()
      app.route('/', consoleRoutes({ operations: new Operations({ db, feeds: [], subscriptions: [], consumerSchemas: [], sagas: [world.runner] }), operatorToken: TOKEN }))
      const server = await serveHttp(app, 0, { hostname: '127.0.0.1' })
      base = `http://127.0.0.1:${server.port}`
      stopServer = () => server.close()

      // One saga completes; a second wants the same seat, and its refund cannot be done: parked FAILED.
      await world.deposit('ann', 100)
      await world.deposit('bob', 100)
      const pay = async (member: string) =>
        (await world.orchestrator.run((tx) => world.runner.start(tx, world.definition, { paymentId: `p-${member}`, member, seat: 'A1', amount: 10 }))).result.id
      completedId = await pay('ann')
      await eventually(() => world.runner.find(completedId), (s) => s?.status === 'COMPLETED', { what: 'the first saga' })
      world.faults.refundsDown = true
      parkedId = await pay('bob')
      await eventually(() => world.runner.find(parkedId), (s) => s?.status === 'FAILED', { what: 'the second saga parked' })
    })
    afterAll(async () => {
      await world?.stop()
      await stopServer?.()
    })

    it('lists the open sagas per type and status, and the parked one with its reason', async () => {
      const overview = (await (await view('/console/api/overview')).json()) as { sagas: { open: unknown[]; failed: Array<{ id: string; reason: string }> } }
      expect(overview.sagas.open).toEqual([{ type: 'test.pay-for-seat', status: 'FAILED', count: 1 }])
      expect(overview.sagas.failed.map((s) => s.id)).toEqual([parkedId])
      expect(overview.sagas.failed[0]!.reason).toBe('seat A1 is taken')
      const fragment = await (await view('/console/fragments/overview')).text()
      expect(fragment).toContain(`data-action="retry-saga" data-id="${parkedId}"`)
    })

    it('lists sagas by type and status in pages, and refuses a filter that means nothing', async () => {
      const all = (await (await view('/console/api/sagas?type=test.pay-for-seat')).json()) as { items: Array<{ id: string }>; next: string | null }
      expect(all.items.map((s) => s.id).sort()).toEqual([completedId, parkedId].sort())
      const completed = (await (await view('/console/api/sagas?status=COMPLETED')).json()) as { items: Array<{ id: string }> }
      expect(completed.items.map((s) => s.id)).toEqual([completedId])
      // Two sagas changed in the same millisecond, a page each: neither is skipped.
      await world.runner.find(completedId).then((s) => db.query(`UPDATE "${schemas.orchestrator}".sagas SET updated_at = $1`, [s!.updatedAt.toISOString()]))
      type Page = { items: Array<{ id: string }>; next: { before: string; beforeId: string } | null }
      const firstPage = (await (await view('/console/api/sagas?limit=1')).json()) as Page
      const { before, beforeId } = firstPage.next!
      const secondPage = (await (await view(`/console/api/sagas?limit=1&before=${encodeURIComponent(before)}&beforeId=${encodeURIComponent(beforeId)}`)).json()) as Page
      const thirdPage = (await (await view(`/console/api/sagas?limit=1&before=${encodeURIComponent(secondPage.next!.before)}&beforeId=${encodeURIComponent(secondPage.next!.beforeId)}`)).json()) as Page
      expect([...firstPage.items, ...secondPage.items].map((s) => s.id).sort()).toEqual([completedId, parkedId].sort())
      expect(thirdPage).toEqual({ items: [], next: null })
      expect(await problem(await view('/console/api/sagas?before=0000-01-01T00:00:00Z'))).toEqual({ status: 400, code: 'VALIDATION' })
      expect(await problem(await view('/console/api/sagas?status=STUCK'))).toEqual({ status: 400, code: 'VALIDATION' })
      expect(await problem(await view('/console/api/sagas?limit=100000'))).toEqual({ status: 400, code: 'VALIDATION' })
      expect(await problem(await fetch(`${base}/console/api/sagas`))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
    })

    it('shows one saga’s history, as JSON and on the page', async () => {
      const one = (await (await view(`/console/api/sagas/${parkedId}`)).json()) as { saga: { status: string }; history: Array<{ step: string; outcome: string }> }
      expect(one.saga.status).toBe('FAILED')
      expect(one.history.map((h) => `${h.step} ${h.outcome}`)).toEqual([
        'debit sent',
        'debit replied',
        'confirm sent',
        'confirm refused',
        'debit compensating',
        'debit compensation_failed',
        'debit failed',
      ])
      const page = await (await view(`/console?saga=${encodeURIComponent(parkedId)}`)).text()
      expect(page).toContain('<strong data-field="saga-status">FAILED</strong>')
      expect(page).toContain('data-outcome="compensation_failed"')
      expect((await view('/console?saga=nope')).status).toBe(404)
      expect(await problem(await view('/console/api/sagas/nope'))).toEqual({ status: 404, code: 'SAGA_NOT_FOUND' })
      expect(await problem(await view('/console/api/sagas/%00'))).toEqual({ status: 400, code: 'VALIDATION' })
      expect((await view('/console?saga=%00')).status).toBe(404)
    })

    it('retries a parked saga with the operator token only, and not one that has not failed', async () => {
      expect(await problem(await post(`/console/api/sagas/${parkedId}/retry`))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
      expect(await problem(await post(`/console/api/sagas/${parkedId}/retry`, 'someone-else-entirely'))).toEqual({ status: 401, code: 'OPERATOR_UNAUTHORIZED' })
      expect(await problem(await post(`/console/api/sagas/${completedId}/retry`, TOKEN))).toEqual({ status: 409, code: 'SAGA_NOT_FAILED' })
      expect(await problem(await post('/console/api/sagas/nope/retry', TOKEN))).toEqual({ status: 404, code: 'SAGA_NOT_FOUND' })
      expect(await problem(await post('/console/api/sagas/%00/retry', TOKEN))).toEqual({ status: 400, code: 'VALIDATION' })
      world.faults.refundsDown = false
      const retried = await post(`/console/api/sagas/${parkedId}/retry`, TOKEN)
      expect(retried.status).toBe(200)
      expect(await retried.json()).toMatchObject({ retried: true, saga: { id: parkedId, status: 'COMPENSATING' } })
      await eventually(() => world.runner.find(parkedId), (s) => s?.status === 'COMPENSATED', { what: 'the retried saga compensated' })
      expect(await world.balance('bob')).toBe(100)
    })
  })
}
