import { afterEach, describe, expect, it } from 'vitest'
import type { Envelope } from '@tidings/core'
import { eventually, readAll, sagaTestWorld, testEngines, type SeatPayment, type SeatPaymentTiming, type SeatPaymentWorld } from '@tidings/testing'
import { OutboxFeed } from '../feed/outbox-feed'
import { SagaNotFailed, SagaNotFound } from './saga-runner'
import { listDeadLetters } from '../consumers/dead-letters'

for (const engine of await testEngines()) {
  describe(`sagas on ${engine.name}: steps, replies, compensation, timeouts`, () => {
    const worlds: SeatPaymentWorld[] = []
    afterEach(async () => {
      await Promise.all(worlds.splice(0).map((w) => w.stop()))
    })

    async function world(timing: SeatPaymentTiming = {}) {
      const w = await sagaTestWorld(engine, timing)
      worlds.push(w)
      w.start()
      return w
    }

    it('runs every step and completes: the debit stays, the seat is taken, PaymentCompleted is published', async () => {
      const w = await world()
      await w.deposit('ann', 100)
      const { id, started } = await w.pay({ paymentId: 'p-1', member: 'ann', seat: 'A1', amount: 30 })
      expect(started).toBe(true)
      await w.settled(id, 'COMPLETED')
      expect(await w.balance('ann')).toBe(70)
      expect(await w.outcomes(id)).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent', 'confirm replied: seats.Confirmed', 'confirm completed'])
      const events = (await w.orchestratorEvents()).filter((e) => e.meta.correlationId === id)
      expect(events.map((e) => e.type)).toEqual(['wallet.Debit', 'seats.Confirm', 'payments.PaymentCompleted'])
      expect((await w.runner.find(id))!.endedAt).toBeInstanceOf(Date)
    })

    it('a refused confirmation refunds the debit (compensation in reverse order), and the saga ends COMPENSATED', async () => {
      const w = await world()
      await w.deposit('bob', 100)
      await w.deposit('cat', 100)
      const first = await w.pay({ paymentId: 'p-bob', member: 'bob', seat: 'B7', amount: 40 })
      await w.settled(first.id, 'COMPLETED')
      const second = await w.pay({ paymentId: 'p-cat', member: 'cat', seat: 'B7', amount: 40 })
      const saga = await w.settled(second.id, 'COMPENSATED')
      expect(saga!.reason).toBe('seat B7 is taken')
      expect(await w.balance('cat')).toBe(100)
      expect((await w.refunds()).get('p-cat')).toBe(1)
      expect(await w.outcomes(second.id)).toEqual([
        'debit sent',
        'debit replied: wallet.Debited',
        'confirm sent',
        'confirm refused: seat B7 is taken',
        'debit compensating',
        'debit compensated',
      ])
      expect((await w.orchestratorEvents()).filter((e) => e.meta.correlationId === second.id).map((e) => [e.type, e.data])).toContainEqual([
        'payments.PaymentCanceled',
        { paymentId: 'p-cat', reason: 'seat B7 is taken' },
      ])
    })

    it('a refusal at the first step has nothing to undo', async () => {
      const w = await world()
      const { id } = await w.pay({ paymentId: 'p-poor', member: 'dan', seat: 'C1', amount: 10 })
      await w.settled(id, 'COMPENSATED')
      expect(await w.outcomes(id)).toEqual(['debit sent', 'debit refused: insufficient balance'])
    })

    it('a caller-chosen id starts one saga however often it is asked', async () => {
      const w = await world()
      await w.deposit('eve', 100)
      const payment = { paymentId: 'p-eve', member: 'eve', seat: 'D1', amount: 25 }
      const [a, b] = await Promise.all([w.pay(payment, 'pay:p-eve').catch((e: unknown) => e), w.pay(payment, 'pay:p-eve').catch((e: unknown) => e)])
      const again = await w.pay(payment, 'pay:p-eve')
      expect([a, b, again].filter((r) => (r as { started?: boolean }).started === true)).toHaveLength(1)
      expect(again).toMatchObject({ id: 'pay:p-eve', started: false })
      await w.settled('pay:p-eve', 'COMPLETED')
      expect(await w.balance('eve')).toBe(75)
      // Started again once it has moved on: no history line, no timer, no command (the row's conflict gates them all).
      expect(await w.pay(payment, 'pay:p-eve')).toMatchObject({ started: false, saga: { status: 'COMPLETED' } })
      expect(await w.outcomes('pay:p-eve')).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent', 'confirm replied: seats.Confirmed', 'confirm completed'])
      const timers = await w.db.query(`SELECT id FROM "${w.schemas.orchestrator}".scheduled_messages WHERE key = 'pay:p-eve'`)
      expect(timers.rows).toEqual([])
      expect((await w.orchestratorEvents()).filter((e) => e.meta.correlationId === 'pay:p-eve').map((e) => e.type)).toEqual(['wallet.Debit', 'seats.Confirm', 'payments.PaymentCompleted'])
    })

    it('a participant that never answers: the step times out and is undone with what came before it, even if it happened after all', async () => {
      const w = await world({ stepTimeoutMs: 1_500 })
      await w.subscriptions.seats.stop()
      await w.deposit('fay', 100)
      const { id } = await w.pay({ paymentId: 'p-fay', member: 'fay', seat: 'E1', amount: 60 })
      await eventually(() => w.runner.find(id), (s) => s?.status === 'COMPENSATING', { what: 'the confirmation timed out' })
      // The seat service comes back: it confirms late, then releases the seat when asked.
      w.subscriptions.seats.start()
      const saga = await w.settled(id, 'COMPENSATED')
      expect(saga!.reason).toBe('confirm timed out')
      expect(await w.balance('fay')).toBe(100)
      expect((await w.db.query(`SELECT 1 FROM "${w.schemas.seats}".seats WHERE seat = 'E1'`)).rowCount).toBe(0)
      expect(await w.outcomes(id)).toEqual([
        'debit sent',
        'debit replied: wallet.Debited',
        'confirm sent',
        'confirm timed_out',
        'confirm compensating',
        'confirm compensated',
        'debit compensating',
        'debit compensated',
      ])
    })

    it('a debit dead-lettered and replayed after its saga refunded it is refused by the refund’s tombstone', async () => {
      const w = await world({ stepTimeoutMs: 1_500 })
      w.faults.debitsDown = true
      await w.deposit('gus', 100)
      const { id } = await w.pay({ paymentId: 'p-gus', member: 'gus', seat: 'F1', amount: 50 })
      await w.settled(id, 'COMPENSATED')
      expect(await w.outcomes(id)).toEqual(['debit sent', 'debit timed_out', 'debit compensating', 'debit compensated'])
      const [letter] = await listDeadLetters(w.db, w.schemas.wallet)
      expect(letter!.envelope.type).toBe('wallet.Debit')
      w.faults.debitsDown = false
      expect(await w.subscriptions.wallet.replay(letter!.id)).toBe(true)
      expect(await w.balance('gus')).toBe(100)
      const movement = await w.db.query<{ status: string }>(`SELECT status FROM "${w.schemas.wallet}".movements WHERE reference = 'p-gus'`)
      expect(movement.rows).toEqual([{ status: 'VOIDED' }])
      expect((await w.runner.find(id))!.status).toBe('COMPENSATED')
    })

    it('a compensation that fails three times is retried with backoff until it succeeds', async () => {
      const w = await world({ compensationRetryMs: 20 })
      w.faults.refundFailures = 3
      await w.deposit('hal', 100)
      await w.deposit('ida', 100)
      await w.settled((await w.pay({ paymentId: 'p-hal', member: 'hal', seat: 'G1', amount: 10 })).id, 'COMPLETED')
      const { id } = await w.pay({ paymentId: 'p-ida', member: 'ida', seat: 'G1', amount: 10 })
      await w.settled(id, 'COMPENSATED')
      expect((await w.outcomes(id)).slice(4)).toEqual([
        'debit compensating',
        'debit compensation_failed: wallet.RefundFailed',
        'debit compensating #2',
        'debit compensation_failed #2: wallet.RefundFailed',
        'debit compensating #3',
        'debit compensation_failed #3: wallet.RefundFailed',
        'debit compensating #4',
        'debit compensated #4',
      ])
      expect(await w.balance('ida')).toBe(100)
      expect((await w.refunds()).get('p-ida')).toBe(1)
    })

    it('a compensation that keeps failing parks the saga FAILED with an alert; an operator retry completes it', async () => {
      const w = await world({ compensationRetryMs: 20, compensationAttempts: 3, compensationTimeoutMs: 1_000 })
      w.faults.refundsDown = true
      await w.deposit('jon', 100)
      await w.deposit('kim', 100)
      await w.settled((await w.pay({ paymentId: 'p-jon', member: 'jon', seat: 'H1', amount: 10 })).id, 'COMPLETED')
      const { id } = await w.pay({ paymentId: 'p-kim', member: 'kim', seat: 'H1', amount: 10 })
      const parked = await w.settled(id, 'FAILED')
      expect(parked!.step).toBe(0)
      expect(await w.balance('kim')).toBe(90)
      expect(w.alerts).toContainEqual(expect.objectContaining({ kind: 'saga_failed', code: 'SAGA_FAILED', where: 'test.pay-for-seat', details: { sagaId: id, step: 0 } }))
      expect((await w.outcomes(id)).at(-1)).toBe('debit failed #3: debit could not be undone after 3 attempts (no reply in time)')

      await expect(w.runner.retry('no-such-saga')).rejects.toBeInstanceOf(SagaNotFound)
      const completed = (await w.runner.list({ status: 'COMPLETED' }))[0]!
      await expect(w.runner.retry(completed.id)).rejects.toBeInstanceOf(SagaNotFailed)

      w.faults.refundsDown = false
      expect((await w.runner.retry(id)).status).toBe('COMPENSATING')
      await w.settled(id, 'COMPENSATED')
      expect(await w.balance('kim')).toBe(100)
      expect((await w.refunds()).get('p-kim')).toBe(1)
      expect((await w.outcomes(id)).slice(-3)).toEqual(['debit retried', 'debit compensating', 'debit compensated'])
    })

    it('100 replies to one saga at once, each in its own transaction: one applies, the rest change nothing', async () => {
      const w = await world()
      await w.subscriptions.wallet.stop()
      await w.subscriptions.seats.stop()
      await w.subscriptions.replies.stop()
      await w.deposit('lea', 100)
      const { id } = await w.pay({ paymentId: 'p-lea', member: 'lea', seat: 'J1', amount: 10 })
      const awaited = (await w.runner.find(id))!.awaiting!
      // The orchestrator's reply handler, called at once from 100 transactions (as 100 instances would), each with its own copy of the reply.
      const replies = w.runner.replies('test.concurrent-replies', ['test.wallet'])
      const reply = (n: number): Envelope => ({
        id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
        type: 'wallet.Debited',
        source: 'test.wallet',
        key: 'lea',
        occurredAt: new Date().toISOString(),
        data: { reference: 'p-lea' },
        meta: { correlationId: id, causationId: awaited },
      })
      await Promise.all(Array.from({ length: 100 }, (_, n) => w.db.transaction((tx) => replies.handle(tx, reply(n)))))
      expect(await w.runner.find(id)).toMatchObject({ status: 'RUNNING', step: 1 })
      expect(await w.outcomes(id)).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent'])
      expect((await w.orchestratorEvents()).filter((e) => e.type === 'seats.Confirm' && e.meta.correlationId === id)).toHaveLength(1)
    })

    it('reads asked for at once (one query) each answer their own saga, or none', async () => {
      const w = await world()
      await w.deposit('ona', 100)
      const first = await w.pay({ paymentId: 'p-ona-1', member: 'ona', seat: 'F1', amount: 10 })
      const second = await w.pay({ paymentId: 'p-ona-2', member: 'ona', seat: 'F2', amount: 10 })
      const found = await Promise.all([first.id, 'no-such-saga', second.id, first.id].map((id) => w.runner.find(id)))
      expect(found.map((s) => s && (s.state as SeatPayment).paymentId)).toEqual(['p-ona-1', undefined, 'p-ona-2', 'p-ona-1'])
    })

    it('a page of replies is applied together as one at a time would: each saga moves once, a second copy of a reply in the same page changes nothing', async () => {
      const w = await world()
      await w.subscriptions.replies.stop()
      const members = Array.from({ length: 40 }, (_, n) => `m${n}`)
      for (const member of members.slice(0, 36)) await w.deposit(member, 100) // the last four cannot pay
      // 40 payments for 30 seats: the last ten want a seat someone paid for before them.
      const ids: string[] = []
      for (const [n, member] of members.entries()) ids.push((await w.pay({ paymentId: `p-${n}`, member, seat: `S${n % 30}`, amount: 10 })).id)
      const walletFeed = new OutboxFeed(w.db, w.schemas.wallet, 'test.wallet')
      const walletReplies = await eventually(() => readAll(walletFeed), (replies) => replies.length === 40, { what: 'the wallet to answer every debit' })
      const copy = { ...walletReplies[0]!, id: '00000000-0000-7000-8000-000000000001' }
      const replies = w.runner.replies('test.page-of-replies', ['test.wallet'])
      await w.db.transaction((tx) => replies.handleBatch!(tx, [...walletReplies, copy]))

      const after = await Promise.all(ids.map((id) => w.runner.find(id)))
      expect(after.slice(0, 36).map((s) => [s!.status, s!.step])).toEqual(Array(36).fill(['RUNNING', 1]))
      expect(after.slice(36).map((s) => s!.status)).toEqual(Array(4).fill('COMPENSATED'))
      expect(await w.outcomes(ids[0]!)).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent'])
      expect(await w.outcomes(ids[39]!)).toEqual(['debit sent', 'debit refused: insufficient balance'])
      const confirms = (await w.orchestratorEvents()).filter((e) => e.type === 'seats.Confirm')
      expect(confirms.map((e) => e.meta.correlationId).sort()).toEqual(ids.slice(0, 36).sort())
      expect(new Set(confirms.map((e) => e.meta.causationId)).size).toBe(36) // each caused by its own reply

      // The saga's own consumer sees those replies again (its inbox has not): they are stale now, and the sagas go on.
      w.subscriptions.replies.start()
      for (const id of ids.slice(0, 30)) await w.settled(id, 'COMPLETED')
      for (const id of ids.slice(30, 36)) await w.settled(id, 'COMPENSATED')
      expect(await w.outcomes(ids[0]!)).toEqual(['debit sent', 'debit replied: wallet.Debited', 'confirm sent', 'confirm replied: seats.Confirmed', 'confirm completed'])
      expect(await Promise.all(members.slice(30, 36).map((m) => w.balance(m)))).toEqual(Array(6).fill(100))
      expect(await w.appliedTwice()).toEqual([])
    })
  })
}
