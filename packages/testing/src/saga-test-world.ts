import type { Alert, Envelope } from '@tidings/core'
import { OutboxFeed } from '@tidings/postgres'
import { readAll } from './contracts/outbox-feed.contract'
import type { TestEngine } from './engines'
import { eventually } from './eventually'
import { transactionsSettled } from './feed-horizon'
import { PAYMENTS, seatPaymentWorld, type SeatPayment, type SeatPaymentTiming } from './seat-payment-saga'

/**
 * The seat payment world of the saga tests, in fresh schemas of an engine, not started, with what the tests
 * look at: the alerts raised, the steps the observer saw done and the statuses sagas ended in, payments
 * started as commands, a saga's history as lines, and the orchestrator's events.
 */
export async function sagaTestWorld(engine: TestEngine, timing: SeatPaymentTiming = {}) {
  const db = await engine.db()
  const schemas = { orchestrator: await engine.freshSchema('orch'), wallet: await engine.freshSchema('wallet'), seats: await engine.freshSchema('seats') }
  const alerts: Alert[] = []
  const steps: string[] = []
  const ended: string[] = []
  const w = await seatPaymentWorld(db, schemas, {
    timing,
    alerts: { raise: (a) => alerts.push(a) },
    observer: { stepDone: (_, step) => steps.push(step), ended: (_, status) => ended.push(status) },
  })
  const pay = async (payment: SeatPayment, id?: string) => (await w.orchestrator.run((tx) => w.runner.start(tx, w.definition, payment, id ? { id } : {}))).result
  const settled = (id: string, status: string) => eventually(() => w.runner.find(id), (s) => s?.status === status, { what: `saga ${id} ${status}` })
  const outcomes = async (id: string) => (await w.runner.history(id)).map((h) => `${h.step} ${h.outcome}${h.attempt > 1 ? ` #${h.attempt}` : ''}${h.detail ? `: ${h.detail}` : ''}`)
  const orchestratorEvents = async (): Promise<Envelope[]> => {
    await transactionsSettled(db)
    return readAll(new OutboxFeed(db, schemas.orchestrator, PAYMENTS))
  }
  return { ...w, db, alerts, steps, ended, pay, settled, outcomes, orchestratorEvents }
}
