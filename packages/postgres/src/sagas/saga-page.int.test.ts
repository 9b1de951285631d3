import { afterEach, describe, expect, it } from 'vitest'
import type { Envelope } from '@tidings/core'
import { sagaTestWorld, testEngines, type SeatPaymentTiming, type SeatPaymentWorld } from '@tidings/testing'

/** Pages of replies that hold odd mixes: stale and repeated answers, strangers, a failing reply. */
for (const engine of await testEngines()) {
  describe(`a page of saga replies on ${engine.name}`, () => {
    const worlds: SeatPaymentWorld[] = []
    afterEach(async () => {
      await Promise.all(worlds.splice(0).map((w) => w.stop()))
    })

    async function world(timing: SeatPaymentTiming = {}) {
      const w = await sagaTestWorld(engine, timing)
      const { db, schemas } = w
      worlds.push(w)
      const timers = async () =>
        (await db.query<{ id: string }>(`SELECT id FROM "${schemas.orchestrator}".scheduled_messages ORDER BY id`)).rows.map((r) => r.id.replace(/^tidings\.SagaTimer:/, ''))
      let n = 0
      const reply = (type: string, saga: { id: string; awaiting?: string }, data: unknown, causationId = saga.awaiting): Envelope => ({
        id: `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`,
        type,
        source: 'test.wallet',
        key: 'k',
        occurredAt: new Date().toISOString(),
        data,
        meta: { correlationId: saga.id, ...(causationId ? { causationId } : {}) },
      })
      // As the subscription applies a page: in one transaction, then what it reports once that has committed.
      const replies = w.runner.replies('test.page', ['test.wallet'])
      const applyPage = async (messages: Envelope[]) => {
        await db.transaction((tx) => replies.handleBatch!(tx, messages))
        replies.afterCommit!(messages)
      }
      return { ...w, timers, reply, applyPage }
    }

    it('a stale reply, the awaited one, a copy and a contradicting second answer in one page: the saga moves once, on the awaited one', async () => {
      const w = await world()
      const a = await w.pay({ paymentId: 'p-a', member: 'ann', seat: 'A1', amount: 10 })
      const saga = (await w.runner.find(a.id))!
      expect(await w.timers()).toEqual([`${a.id}:step_timeout:0:1`])
      const debited = w.reply('wallet.Debited', saga, { reference: 'p-a' })
      await w.applyPage([
        w.reply('wallet.Debited', saga, { reference: 'p-a' }, 'some-earlier-command'),
        { ...debited, meta: { ...debited.meta } },
        { ...debited, id: '00000000-0000-7000-8000-0000000000ff' },
        w.reply('wallet.DebitRefused', saga, { reference: 'p-a', reason: 'too late' }),
      ])
      expect(await w.runner.find(a.id)).toMatchObject({ status: 'RUNNING', step: 1 })
      expect(await w.outcomes(a.id)).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent'])
      expect(await w.timers()).toEqual([`${a.id}:step_timeout:1:1`])
      expect(w.steps).toEqual(['debit'])
    })

    it('replies with no correlation, or for a saga this runner does not run, pass by; the others of the page apply', async () => {
      const w = await world()
      const a = await w.pay({ paymentId: 'p-a', member: 'ann', seat: 'A1', amount: 10 })
      const b = await w.pay({ paymentId: 'p-b', member: 'bob', seat: 'B1', amount: 10 })
      // A saga row of another type, in this orchestrator's table.
      await w.db.query(
        `INSERT INTO "${w.schemas.orchestrator}".sagas (id, type, status, state, step, attempt, history, awaiting, started_at, updated_at) VALUES ('other', 'test.other', 'RUNNING', '{}', 0, 1, 0, 'cmd-x', now(), now())`,
      )
      const sagaA = (await w.runner.find(a.id))!
      const sagaB = (await w.runner.find(b.id))!
      const uncorrelated: Envelope = { ...w.reply('wallet.Debited', sagaA, { reference: 'p-a' }), meta: { causationId: sagaA.awaiting! } }
      await w.applyPage([
        uncorrelated,
        w.reply('wallet.Debited', { id: 'other', awaiting: 'cmd-x' }, {}),
        w.reply('wallet.Debited', sagaB, { reference: 'p-b' }),
        w.reply('wallet.Debited', { id: 'no-such-saga', awaiting: 'x' }, {}),
      ])
      expect((await w.runner.find(a.id))!.step).toBe(0)
      expect((await w.runner.find(b.id))!.step).toBe(1)
      expect((await w.db.query(`SELECT status, step FROM "${w.schemas.orchestrator}".sagas WHERE id = 'other'`)).rows).toEqual([{ status: 'RUNNING', step: 0 }])
    })

    it('compensations that fail in one page park each saga FAILED once, with one alert each, and cancel their timers', async () => {
      const w = await world({ compensationAttempts: 1, compensationTimeoutMs: 60_000 })
      const ids: string[] = []
      for (const p of ['p-a', 'p-b']) {
        const { id } = await w.pay({ paymentId: p, member: 'm', seat: 'S', amount: 10 })
        ids.push(id)
        const started = (await w.runner.find(id))!
        await w.applyPage([w.reply('wallet.Debited', started, { reference: p })])
        const confirming = (await w.runner.find(id))!
        await w.applyPage([w.reply('seats.ConfirmationRefused', confirming, { reference: p, reason: 'seat S is taken' })])
      }
      const compensating = await Promise.all(ids.map(async (id) => (await w.runner.find(id))!))
      expect(compensating.map((s) => [s.status, s.step])).toEqual([
        ['COMPENSATING', 0],
        ['COMPENSATING', 0],
      ])
      expect(await w.timers()).toEqual(ids.map((id) => `${id}:compensation_timeout:0:1`).sort())
      const failedA = w.reply('wallet.RefundFailed', compensating[0]!, { reference: 'p-a' })
      await w.applyPage([failedA, w.reply('wallet.RefundFailed', compensating[1]!, { reference: 'p-b' }), { ...failedA, id: '00000000-0000-7000-8000-0000000000fe' }])
      expect((await Promise.all(ids.map((id) => w.runner.find(id)))).map((s) => s!.status)).toEqual(['FAILED', 'FAILED'])
      expect(w.alerts.map((a) => (a.details as { sagaId: string }).sagaId)).toEqual(ids)
      expect(await w.timers()).toEqual([])
      expect((await w.outcomes(ids[0]!)).slice(-2)).toEqual(['debit compensation_failed: wallet.RefundFailed', 'debit failed: debit could not be undone after 1 attempts (wallet.RefundFailed)'])
    })

    it('a page that rolls back reports nothing: its steps and alerts come once, from the attempt that commits', async () => {
      const w = await world({ compensationAttempts: 1, compensationTimeoutMs: 60_000 })
      const replies = w.runner.replies('test.page', ['test.wallet'])
      // As the processor does when a page fails after it was applied (a later chunk, the checkpoint, the
      // commit): the transaction rolls back, then each message is applied alone and committed.
      const failOnceThenOneByOne = async (page: Envelope[]) => {
        await expect(
          w.db.transaction(async (tx) => {
            await replies.handleBatch!(tx, page)
            throw new Error('the page fails after it was applied')
          }),
        ).rejects.toThrow('the page fails')
        const reported = [w.steps.length, w.alerts.length]
        for (const message of page) {
          await w.db.transaction((tx) => replies.handle(tx, message))
          replies.afterCommit!([message])
        }
        return reported
      }
      const ids: string[] = []
      for (const p of ['p-c', 'p-d']) ids.push((await w.pay({ paymentId: p, member: 'm', seat: 'S', amount: 10 })).id)
      const debited = await Promise.all(ids.map(async (id, i) => w.reply('wallet.Debited', (await w.runner.find(id))!, { reference: `p-${'cd'[i]}` })))
      expect(await failOnceThenOneByOne(debited)).toEqual([0, 0])
      expect(w.steps).toEqual(['debit', 'debit'])
      for (const [i, id] of ids.entries()) {
        await w.applyPage([w.reply('seats.ConfirmationRefused', (await w.runner.find(id))!, { reference: `p-${'cd'[i]}`, reason: 'seat S is taken' })])
      }
      const compensating = await Promise.all(ids.map(async (id) => (await w.runner.find(id))!))
      // Two failed refunds of the first saga (the second a copy) and one of the other: both are parked.
      const failedC = w.reply('wallet.RefundFailed', compensating[0]!, { reference: 'p-c' })
      const parking = [failedC, w.reply('wallet.RefundFailed', compensating[1]!, { reference: 'p-d' }), { ...failedC, id: '00000000-0000-7000-8000-0000000000fd' }]
      const [, alertsBefore] = await failOnceThenOneByOne(parking)
      expect(alertsBefore).toBe(0)
      expect((await Promise.all(ids.map((id) => w.runner.find(id)))).map((s) => s!.status)).toEqual(['FAILED', 'FAILED'])
      expect(w.alerts.map((a) => (a.details as { sagaId: string }).sagaId).sort()).toEqual([...ids].sort())
    })
  })
}
