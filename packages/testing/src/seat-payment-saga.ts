import { command, fail, saga, step, type Alerts, type ConsumerDefinition, type Envelope, type SagaDefinition } from '@tidings/core'
import {
  migrate,
  OutboxFeed,
  platformMigrations,
  reactor,
  runWrites,
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
  type Write,
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
 * if it comes late — so a compensation after a timeout is safe either way. A page of commands reads the
 * balances and payments it touches in two statements, works on them in memory, and writes them back in one.
 */
export function walletParticipant(uow: UnitOfWork, schema: string, faults: WalletFaults) {
  const s = schemaName(schema)
  type Movement = { member: string; amount: number; status: string; refunds: number }
  type Command = { member: string; amount: number; reference: string }
  const commandsIn = (messages: readonly Envelope[]) => messages.filter((m) => m.type === 'wallet.Debit' || m.type === 'wallet.Refund')
  return reactor(uow, {
    name: 'test.wallet-commands',
    follows: [PAYMENTS],
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    page: {
      async open(q, messages) {
        const commands = commandsIn(messages).map((m) => m.data as Command)
        const balances = await q.query<{ member: string; balance: string }>(`SELECT member, balance FROM ${s}.balances WHERE member = ANY($1::text[]) ORDER BY member FOR UPDATE`, [commands.map((c) => c.member)])
        const movements = await q.query<Movement & { reference: string }>(
          `SELECT reference, member, amount, status, refunds FROM ${s}.movements WHERE reference = ANY($1::text[]) ORDER BY reference FOR UPDATE`,
          [commands.map((c) => c.reference)],
        )
        return {
          applied: [] as Envelope[],
          balances: new Map(balances.rows.map((r) => [r.member, Number(r.balance)])),
          movements: new Map(movements.rows.map((r) => [r.reference, { member: r.member, amount: Number(r.amount), status: r.status, refunds: Number(r.refunds) }])),
          changed: { balances: new Set<string>(), movements: new Set<string>() },
        }
      },
      async close(q, page) {
        const balances = [...page.changed.balances]
        const movements = [...page.changed.movements].map((reference) => ({ reference, ...page.movements.get(reference)! }))
        const writes: Write[] = [{ sql: `INSERT INTO ${s}.applied (message_id, type) SELECT * FROM unnest($1::text[], $2::text[])`, params: [page.applied.map((m) => m.id), page.applied.map((m) => m.type)] }]
        if (balances.length > 0) {
          writes.push({
            sql: `UPDATE ${s}.balances AS b SET balance = u.balance FROM unnest($1::text[], $2::bigint[]) AS u(member, balance) WHERE b.member = u.member`,
            params: [balances, balances.map((m) => page.balances.get(m)!)],
          })
        }
        if (movements.length > 0) {
          writes.push({
            sql: `INSERT INTO ${s}.movements (reference, member, amount, status, refunds) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[])
                  ON CONFLICT (reference) DO UPDATE SET status = excluded.status, refunds = excluded.refunds`,
            params: [movements.map((m) => m.reference), movements.map((m) => m.member), movements.map((m) => m.amount), movements.map((m) => m.status), movements.map((m) => m.refunds)],
          })
        }
        if (page.applied.length > 0) await runWrites(q, writes)
      },
    },
    async react(tx: CommandTx, message, page) {
      if (message.type !== 'wallet.Debit' && message.type !== 'wallet.Refund') return
      page.applied.push(message)
      const { member, amount, reference } = message.data as Command
      const reply = (type: string, data: Record<string, unknown> = {}) => tx.record({ type, key: member, data: { reference, ...data } })
      const move = (movement: Movement) => {
        page.movements.set(reference, movement)
        page.changed.movements.add(reference)
      }
      // As an UPDATE of the member's row would: a member with no balance is not credited.
      const credit = (delta: number) => {
        const balance = page.balances.get(member)
        if (balance === undefined) return
        page.balances.set(member, balance + delta)
        page.changed.balances.add(member)
      }
      const prior = page.movements.get(reference)
      if (message.type === 'wallet.Debit') {
        if (faults.debitsDown) throw new Error('the wallet cannot debit now')
        if (prior) return reply('wallet.DebitRefused', { reason: `payment ${reference} was ${prior.status.toLowerCase()}` })
        const balance = page.balances.get(member)
        if (balance === undefined || balance < amount) return reply('wallet.DebitRefused', { reason: 'insufficient balance' })
        credit(-amount)
        move({ member, amount, status: 'DEBITED', refunds: 0 })
        return reply('wallet.Debited')
      }
      if (faults.refundsDown) throw new Error('the wallet cannot refund now')
      if (faults.refundFailures > 0) {
        faults.refundFailures--
        return reply('wallet.RefundFailed', { reason: 'ledger locked' })
      }
      if (prior?.status === 'DEBITED') {
        credit(amount)
        move({ ...prior, status: 'REFUNDED', refunds: prior.refunds + 1 })
      } else if (!prior) move({ member, amount: 0, status: 'VOIDED', refunds: 0 })
      return reply('wallet.Refunded')
    },
  })
}

/**
 * Seats: a seat is confirmed for the first payment that asks; any other is refused. A release gives the
 * seat back and leaves a tombstone, so a confirmation of that payment that comes later is refused. A page
 * of commands reads its seats and tombstones in two statements and writes them back in one.
 */
export function seatsParticipant(uow: UnitOfWork, schema: string) {
  const s = schemaName(schema)
  type Command = { seat: string; reference: string }
  const commandsIn = (messages: readonly Envelope[]) => messages.filter((m) => m.type === 'seats.Confirm' || m.type === 'seats.Release')
  return reactor(uow, {
    name: 'test.seat-commands',
    follows: [PAYMENTS],
    page: {
      async open(q, messages) {
        const commands = commandsIn(messages).map((m) => m.data as Command)
        const seats = await q.query<{ seat: string; reference: string }>(`SELECT seat, reference FROM ${s}.seats WHERE seat = ANY($1::text[]) ORDER BY seat FOR UPDATE`, [commands.map((c) => c.seat)])
        const released = await q.query<{ reference: string }>(`SELECT reference FROM ${s}.released WHERE reference = ANY($1::text[])`, [commands.map((c) => c.reference)])
        const before = new Map(seats.rows.map((r) => [r.seat, r.reference]))
        return { applied: [] as Envelope[], before, seats: new Map<string, string | undefined>(before), released: new Set(released.rows.map((r) => r.reference)), newlyReleased: new Set<string>() }
      },
      async close(q, page) {
        const taken = [...page.seats].filter(([seat, reference]) => reference !== undefined && page.before.get(seat) !== reference) as Array<[string, string]>
        const freed = [...page.seats].filter(([seat, reference]) => reference === undefined && page.before.has(seat)).map(([seat]) => seat)
        const writes: Write[] = [{ sql: `INSERT INTO ${s}.applied (message_id, type) SELECT * FROM unnest($1::text[], $2::text[])`, params: [page.applied.map((m) => m.id), page.applied.map((m) => m.type)] }]
        if (taken.length > 0) {
          writes.push({
            sql: `INSERT INTO ${s}.seats (seat, reference) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (seat) DO UPDATE SET reference = excluded.reference`,
            params: [taken.map(([seat]) => seat), taken.map(([, reference]) => reference)],
          })
        }
        if (freed.length > 0) writes.push({ sql: `DELETE FROM ${s}.seats WHERE seat = ANY($1::text[])`, params: [freed] })
        if (page.newlyReleased.size > 0) writes.push({ sql: `INSERT INTO ${s}.released (reference) SELECT unnest($1::text[])`, params: [[...page.newlyReleased]] })
        if (page.applied.length > 0) await runWrites(q, writes)
      },
    },
    async react(tx: CommandTx, message, page) {
      if (message.type !== 'seats.Confirm' && message.type !== 'seats.Release') return
      page.applied.push(message)
      const { seat, reference } = message.data as Command
      if (message.type === 'seats.Release') {
        if (!page.released.has(reference)) page.newlyReleased.add(reference)
        page.released.add(reference)
        if (page.seats.get(seat) === reference) page.seats.set(seat, undefined)
        return tx.record({ type: 'seats.Released', key: seat, data: { reference } })
      }
      if (page.released.has(reference)) return tx.record({ type: 'seats.ConfirmationRefused', key: seat, data: { reference, reason: `payment ${reference} was canceled` } })
      if (page.seats.get(seat) !== undefined) return tx.record({ type: 'seats.ConfirmationRefused', key: seat, data: { reference, reason: `seat ${seat} is taken` } })
      page.seats.set(seat, reference)
      tx.record({ type: 'seats.Confirmed', key: seat, data: { reference } })
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

