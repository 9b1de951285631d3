import { command, fail, saga, step, type Alerts, type ConsumerDefinition, type SagaDefinition } from '@tidings/core'
import {
  migrate,
  OutboxFeed,
  platformMigrations,
  reactor,
  SagaRunner,
  Scheduler,
  schemaName,
  Subscription,
  UnitOfWork,
  type CommandTx,
  type Database,
  type FeedNotifier,
  type FeedSignals,
  type Queryable,
  type SagaObserver,
} from '@tidings/postgres'

/** Paying for a seat: debit the wallet, then confirm the seat; a refused confirmation refunds the debit. */
export interface SeatPayment {
  paymentId: string
  member: string
  seat: string
  amount: number
}

export const PAYMENTS = 'test.payments'
export const WALLET = 'test.wallet'
export const SEATS = 'test.seats'

export interface SeatPaymentTiming {
  /** How long a step waits for its participant (default 10 s). */
  stepTimeoutMs?: number
  compensationTimeoutMs?: number
  compensationAttempts?: number
  compensationRetryMs?: number
}

export function payForSeat(timing: SeatPaymentTiming = {}): SagaDefinition<SeatPayment> {
  const stepTimeout = timing.stepTimeoutMs ?? 10_000
  return saga<SeatPayment>({
    name: 'test.pay-for-seat',
    steps: [
      step<SeatPayment>('debit')
        .invoke((p) => command('wallet.Debit', { member: p.member, amount: p.amount, reference: p.paymentId }))
        .onReply('wallet.Debited')
        .onReply('wallet.DebitRefused', (p, reply) => fail(p, (reply.data as { reason: string }).reason))
        .compensate((p) => command('wallet.Refund', { member: p.member, amount: p.amount, reference: p.paymentId }), { reply: 'wallet.Refunded', failure: 'wallet.RefundFailed' })
        .timeout(stepTimeout),
      step<SeatPayment>('confirm')
        .invoke((p) => command('seats.Confirm', { seat: p.seat, member: p.member, reference: p.paymentId }))
        .onReply('seats.Confirmed')
        .onReply('seats.ConfirmationRefused', (p, reply) => fail(p, (reply.data as { reason: string }).reason))
        .compensate((p) => command('seats.Release', { seat: p.seat, reference: p.paymentId }), { reply: 'seats.Released' })
        .timeout(stepTimeout),
    ],
    completed: (p) => command('payments.PaymentCompleted', { paymentId: p.paymentId, member: p.member, seat: p.seat }),
    compensated: (p, reason) => command('payments.PaymentCanceled', { paymentId: p.paymentId, reason }),
    compensationTimeout: timing.compensationTimeoutMs ?? 10_000,
    compensationRetry: { maxAttempts: timing.compensationAttempts ?? 5, baseDelayMs: timing.compensationRetryMs ?? 1_000, maxDelayMs: 60_000 },
  })
}

/** What the wallet does to a refund, for the tests of failing compensations. */
export interface WalletFaults {
  /** Refunds answered `wallet.RefundFailed` before they work again. */
  refundFailures: number
  /** While set, refunds are not answered at all (the wallet's consumer fails them). */
  refundsDown: boolean
  /** While set, debits fail in the wallet's consumer (and are dead-lettered after its retries). */
  debitsDown: boolean
}

/**
 * The wallet: a balance per member and one row per payment reference. A debit applies once per reference; a
 * refund gives back a debit once, and a refund of a debit that never came leaves a tombstone that refuses it
 * if it comes late — so a compensation after a timeout is safe either way.
 */
export function walletParticipant(uow: UnitOfWork, schema: string, faults: WalletFaults) {
  const s = schemaName(schema)
  return reactor(uow, {
    name: 'test.wallet-commands',
    follows: [PAYMENTS],
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    async react(tx: CommandTx, message) {
      if (message.type !== 'wallet.Debit' && message.type !== 'wallet.Refund') return
      await tx.query(`INSERT INTO ${s}.applied (message_id, type) VALUES ($1, $2)`, [message.id, message.type])
      const { member, amount, reference } = message.data as { member: string; amount: number; reference: string }
      const reply = (type: string, data: Record<string, unknown> = {}) => tx.record({ type, key: member, data: { reference, ...data } })
      if (message.type === 'wallet.Debit') {
        if (faults.debitsDown) throw new Error('the wallet cannot debit now')
        const prior = await tx.query<{ status: string }>(`SELECT status FROM ${s}.movements WHERE reference = $1 FOR UPDATE`, [reference])
        if (prior.rows[0]) return reply('wallet.DebitRefused', { reason: `payment ${reference} was ${prior.rows[0].status.toLowerCase()}` })
        const debited = await tx.query(`UPDATE ${s}.balances SET balance = balance - $2 WHERE member = $1 AND balance >= $2`, [member, amount])
        if (debited.rowCount === 0) return reply('wallet.DebitRefused', { reason: 'insufficient balance' })
        await tx.query(`INSERT INTO ${s}.movements (reference, member, amount, status) VALUES ($1, $2, $3, 'DEBITED')`, [reference, member, amount])
        return reply('wallet.Debited')
      }
      if (message.type === 'wallet.Refund') {
        if (faults.refundsDown) throw new Error('the wallet cannot refund now')
        if (faults.refundFailures > 0) {
          faults.refundFailures--
          return reply('wallet.RefundFailed', { reason: 'ledger locked' })
        }
        const prior = await tx.query<{ status: string }>(`SELECT status FROM ${s}.movements WHERE reference = $1 FOR UPDATE`, [reference])
        const status = prior.rows[0]?.status
        if (status === 'DEBITED') {
          await tx.query(`UPDATE ${s}.balances SET balance = balance + $2 WHERE member = $1`, [member, amount])
          await tx.query(`UPDATE ${s}.movements SET status = 'REFUNDED', refunds = refunds + 1 WHERE reference = $1`, [reference])
        } else if (status === undefined) {
          await tx.query(`INSERT INTO ${s}.movements (reference, member, amount, status) VALUES ($1, $2, 0, 'VOIDED')`, [reference, member])
        }
        return reply('wallet.Refunded')
      }
    },
  })
}

/**
 * Seats: a seat is confirmed for the first payment that asks; any other is refused. A release gives the
 * seat back and leaves a tombstone, so a confirmation of that payment that comes later is refused.
 */
export function seatsParticipant(uow: UnitOfWork, schema: string) {
  const s = schemaName(schema)
  return reactor(uow, {
    name: 'test.seat-commands',
    follows: [PAYMENTS],
    async react(tx: CommandTx, message) {
      if (message.type !== 'seats.Confirm' && message.type !== 'seats.Release') return
      await tx.query(`INSERT INTO ${s}.applied (message_id, type) VALUES ($1, $2)`, [message.id, message.type])
      const { seat, reference } = message.data as { seat: string; reference: string }
      if (message.type === 'seats.Release') {
        await tx.query(`INSERT INTO ${s}.released (reference) VALUES ($1) ON CONFLICT DO NOTHING`, [reference])
        await tx.query(`DELETE FROM ${s}.seats WHERE seat = $1 AND reference = $2`, [seat, reference])
        return tx.record({ type: 'seats.Released', key: seat, data: { reference } })
      }
      const released = await tx.query(`SELECT 1 FROM ${s}.released WHERE reference = $1`, [reference])
      if (released.rowCount > 0) return tx.record({ type: 'seats.ConfirmationRefused', key: seat, data: { reference, reason: `payment ${reference} was canceled` } })
      const taken = await tx.query(`INSERT INTO ${s}.seats (seat, reference) VALUES ($1, $2) ON CONFLICT (seat) DO NOTHING`, [seat, reference])
      tx.record(taken.rowCount === 1 ? { type: 'seats.Confirmed', key: seat, data: { reference } } : { type: 'seats.ConfirmationRefused', key: seat, data: { reference, reason: `seat ${seat} is taken` } })
    },
  })
}

export interface SeatPaymentWorld {
  runner: SagaRunner
  definition: SagaDefinition<SeatPayment>
  orchestrator: UnitOfWork
  faults: WalletFaults
  scheduler: Scheduler
  subscriptions: { replies: Subscription; wallet: Subscription; seats: Subscription }
  schemas: { orchestrator: string; wallet: string; seats: string }
  deposit(member: string, amount: number): Promise<void>
  balance(member: string): Promise<number>
  /** Every refund the wallet applied, per payment reference. */
  refunds(): Promise<Map<string, number>>
  /** Commands a participant applied more than once (by message id): none, if the inboxes hold. */
  appliedTwice(): Promise<string[]>
  start(): void
  stop(): Promise<void>
}

/** An orchestrator and its two participants, each in its own schema of one database, each with its own feed. */
export async function seatPaymentWorld(
  db: Database,
  schemas: { orchestrator: string; wallet: string; seats: string },
  options: {
    timing?: SeatPaymentTiming
    alerts?: Alerts
    observer?: SagaObserver
    signals?: FeedSignals
    /** Wakes the readers of the feeds in other processes on every commit (their `forwardNotifications`). */
    notifier?: FeedNotifier
    pollIntervalMs?: number
    /** What this process runs (`start`): all three by default; a process each in the crash tests. */
    roles?: ReadonlyArray<keyof SeatPaymentWorld['subscriptions'] | 'orchestrator'>
  } = {},
): Promise<SeatPaymentWorld> {
  const { signals, pollIntervalMs = 20, roles = ['orchestrator', 'wallet', 'seats'] } = options
  const w = schemaName(schemas.wallet)
  for (const schema of Object.values(schemas)) await migrate(db, schema, 'tidings', platformMigrations)
  await migrate(db, schemas.wallet, 'test.wallet', [
    {
      version: 1,
      name: 'balances, movements, applied commands',
      up: (q) => `
        CREATE TABLE ${q}.balances (member text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
        CREATE TABLE ${q}.movements (reference text PRIMARY KEY, member text NOT NULL, amount bigint NOT NULL, status text NOT NULL, refunds int NOT NULL DEFAULT 0);
        CREATE TABLE ${q}.applied (message_id text NOT NULL, type text NOT NULL);
      `,
    },
  ])
  await migrate(db, schemas.seats, 'test.seats', [
    {
      version: 1,
      name: 'seats, applied commands',
      up: (q) => `
        CREATE TABLE ${q}.seats (seat text PRIMARY KEY, reference text NOT NULL);
        CREATE TABLE ${q}.released (reference text PRIMARY KEY);
        CREATE TABLE ${q}.applied (message_id text NOT NULL, type text NOT NULL);
      `,
    },
  ])

  const wakes = { ...(signals ? { signals } : {}), ...(options.notifier ? { notifier: options.notifier } : {}) }
  const orchestrator = new UnitOfWork({ db, schema: schemas.orchestrator, source: PAYMENTS, ...wakes })
  const walletUow = new UnitOfWork({ db, schema: schemas.wallet, source: WALLET, ...wakes })
  const seatsUow = new UnitOfWork({ db, schema: schemas.seats, source: SEATS, ...wakes })
  const feed = (schema: string, source: string) => new OutboxFeed(db, schema, source, signals)
  const definition = payForSeat(options.timing)
  const runner = new SagaRunner({ db, schema: schemas.orchestrator, uow: orchestrator, sagas: [definition], ...(options.alerts ? { alerts: options.alerts } : {}), ...(options.observer ? { observer: options.observer } : {}) })
  await runner.migrate()
  const faults: WalletFaults = { refundFailures: 0, refundsDown: false, debitsDown: false }
  const subscribe = (schema: string, consumer: ConsumerDefinition<Queryable>, feeds: OutboxFeed[]) =>
    new Subscription({ db, schema, consumer, feeds, pollIntervalMs, leaseTtlMs: 5_000 })
  const subscriptions = {
    replies: subscribe(schemas.orchestrator, runner.replies('test.payment-replies', [WALLET, SEATS]), [feed(schemas.wallet, WALLET), feed(schemas.seats, SEATS)]),
    wallet: subscribe(schemas.wallet, walletParticipant(walletUow, schemas.wallet, faults), [feed(schemas.orchestrator, PAYMENTS)]),
    seats: subscribe(schemas.seats, seatsParticipant(seatsUow, schemas.seats), [feed(schemas.orchestrator, PAYMENTS)]),
  }
  const scheduler = new Scheduler({ db, schema: schemas.orchestrator, uow: orchestrator, handlers: runner.scheduledHandlers })

  return {
    runner,
    definition,
    orchestrator,
    faults,
    scheduler,
    subscriptions,
    schemas,
    async deposit(member, amount) {
      await db.query(`INSERT INTO ${w}.balances (member, balance) VALUES ($1, $2) ON CONFLICT (member) DO UPDATE SET balance = ${w}.balances.balance + $2`, [member, amount])
    },
    async balance(member) {
      const { rows } = await db.query<{ balance: string }>(`SELECT balance FROM ${w}.balances WHERE member = $1`, [member])
      return Number(rows[0]?.balance ?? 0)
    },
    async refunds() {
      const { rows } = await db.query<{ reference: string; refunds: number }>(`SELECT reference, refunds FROM ${w}.movements`)
      return new Map(rows.map((r) => [r.reference, Number(r.refunds)]))
    },
    async appliedTwice() {
      const { rows } = await db.query<{ message_id: string }>(
        `SELECT message_id FROM (SELECT message_id FROM ${w}.applied UNION ALL SELECT message_id FROM ${schemaName(schemas.seats)}.applied) a GROUP BY message_id HAVING count(*) > 1`,
      )
      return rows.map((r) => r.message_id)
    },
    start() {
      if (roles.includes('orchestrator')) {
        subscriptions.replies.start()
        scheduler.start(50)
      }
      if (roles.includes('wallet')) subscriptions.wallet.start()
      if (roles.includes('seats')) subscriptions.seats.start()
    },
    async stop() {
      await scheduler.stop()
      await Promise.all(Object.values(subscriptions).map((s) => s.stop()))
    },
  }
}

