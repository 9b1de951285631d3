import { randomUUID } from 'node:crypto'
import { consumer, event, type ConsumerDefinition, type Envelope } from '@tidings/core'
import { DocumentStore, schemaName, type Database, type Migration, type Queryable, type UnitOfWork } from '@tidings/postgres'

/**
 * The one workload every figure shares: opening an account writes its state row and raises one event.
 * The raw ceiling does the same two inserts by hand; the projection keeps an account view document.
 */
export const SOURCE = 'bench.accounts'
export const ACCOUNT_OPENED = 'bench.AccountOpened.v1'
export const BALANCE_CHANGED = 'bench.BalanceChanged.v1'

export interface AccountData {
  owner: string
  balance: number
}

export const benchMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts and the raw outbox-like table',
    up: (s) => `
      CREATE TABLE ${s}.accounts (
        id uuid PRIMARY KEY,
        owner text NOT NULL,
        balance bigint NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${s}.raw_outbox (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        type text NOT NULL,
        key text NOT NULL,
        version bigint,
        occurred_at timestamptz NOT NULL,
        data jsonb NOT NULL,
        meta jsonb NOT NULL DEFAULT '{}'
      );
    `,
  },
]

function newAccount(): { id: string; data: AccountData } {
  const id = randomUUID()
  return { id, data: { owner: `owner-${id.slice(0, 8)}`, balance: 100 } }
}

const insertAccount = (s: string): string => `INSERT INTO ${s}.accounts (id, owner, balance) VALUES ($1, $2, $3)`

/** Anything that runs a statement: a plain `pg` client or a platform transaction. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>
}

/** The raw ceiling's transaction on one `pg` connection: BEGIN; INSERT state; INSERT outbox row; COMMIT. */
export async function rawOpenAccount(client: SqlRunner, schema: string): Promise<void> {
  const s = schemaName(schema)
  const { id, data } = newAccount()
  await client.query('BEGIN')
  try {
    await rawInserts(client, s, id, data)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}

/** The same two inserts in a transaction of the one PGlite session (the embedded engine's ceiling). */
export async function rawOpenAccountEmbedded(db: Database, schema: string): Promise<void> {
  const s = schemaName(schema)
  const { id, data } = newAccount()
  await db.transaction((tx) => rawInserts(tx, s, id, data))
}

async function rawInserts(q: SqlRunner, s: string, id: string, data: AccountData): Promise<void> {
  await q.query(insertAccount(s), [id, data.owner, data.balance])
  await q.query(
    `INSERT INTO ${s}.raw_outbox (id, type, key, version, occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
    [randomUUID(), ACCOUNT_OPENED, id, 1, new Date().toISOString(), JSON.stringify(data)],
  )
}

/** The command through the platform: state insert plus one recorded event, one unit of work. Returns the event id. */
export async function openAccount(uow: UnitOfWork, schema: string): Promise<string> {
  const s = schemaName(schema)
  const { id, data } = newAccount()
  const committed = await uow.run(async (tx) => {
    await tx.query(insertAccount(s), [id, data.owner, data.balance])
    tx.record(event(ACCOUNT_OPENED, id, data, 1))
  })
  return committed.events[0]!.id
}

/**
 * A backlog written straight into the outbox, `perTransaction` rows per transaction so positions spread
 * over many transaction ids as they do in life: `accounts` accounts, each opened and then changed, so the
 * projection both inserts and updates documents.
 */
export async function writeBacklog(db: Database, schema: string, events: number, accounts = 20_000, perTransaction = 2_000): Promise<void> {
  const s = schemaName(schema)
  for (let from = 0; from < events; from += perTransaction) {
    const to = Math.min(events, from + perTransaction) - 1
    await db.query(
      `INSERT INTO ${s}.outbox (feed_xid, id, type, key, version, occurred_at, data, meta)
       SELECT pg_current_xact_id(), gen_random_uuid(),
              CASE WHEN g < $2 THEN '${ACCOUNT_OPENED}' ELSE '${BALANCE_CHANGED}' END,
              'acct-' || (g % $2), g / $2 + 1, now(),
              jsonb_build_object('owner', 'owner-' || (g % $2), 'balance', g), '{}'::jsonb
       FROM generate_series($1::int, $3::int) AS g`,
      [from, accounts, to],
    )
  }
  await db.query(`ANALYZE ${s}.outbox`)
}

/**
 * Counts what a subscription applied and when: the handler notes each fresh message of the page being
 * applied, and `progressed` (hooked to `Subscription.onProgress`, which fires after the page's
 * transaction committed) stamps them all with the time the read model made them visible.
 */
export class ApplyTracker {
  applied = 0
  firstAt?: number
  lastAt?: number
  readonly appliedAt = new Map<string, number>()
  private page: string[] = []
  private waiters: ((mark: { applied: number; at: number }) => void)[] = []

  constructor(private readonly keepTimes: boolean) {}

  /** Resolves right after the next page commits, with the running count: rates measured between two marks count whole pages. */
  nextPage(): Promise<{ applied: number; at: number }> {
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  handled(id: string): void {
    this.page.push(id)
  }

  readonly progressed = (): void => {
    const now = performance.now()
    if (this.page.length === 0) return
    this.firstAt ??= now
    this.lastAt = now
    this.applied += this.page.length
    if (this.keepTimes) for (const id of this.page) if (!this.appliedAt.has(id)) this.appliedAt.set(id, now)
    this.page = []
    for (const resolve of this.waiters.splice(0)) resolve({ applied: this.applied, at: now })
  }

  /**
   * Stamps the messages of a page right after it committed, as a consumer's `afterCommit` hook (which gets
   * exactly that transaction's messages). Exact where several partitions apply pages at once (a
   * `PartitionedSubscription`), where `progressed` would also stamp another partition's page still in flight.
   */
  readonly committed = (messages: readonly Envelope[]): void => {
    const now = performance.now()
    for (const message of messages) if (!this.appliedAt.has(message.id)) this.appliedAt.set(message.id, now)
  }
}

/**
 * The read model: one JSONB document per account, merged by an idempotent, version-guarded upsert. The
 * subscription's inline inbox makes redeliveries no-ops; the guard keeps an older event from overwriting.
 * Pages go through `handleBatch`: one upsert statement for the whole page, as a user after throughput would.
 */
export function accountView(schema: string, tracker: ApplyTracker): ConsumerDefinition<Queryable> {
  const documents = new DocumentStore<AccountData>(schema, 'account_view')
  const change = (message: Envelope) => {
    const data = message.data as AccountData
    return { id: message.key, source: 'account', version: message.version ?? 0, set: { owner: data.owner, balance: data.balance } }
  }
  const relevant = (message: Envelope) => message.type === ACCOUNT_OPENED || message.type === BALANCE_CHANGED
  return consumer<Queryable>({
    name: 'account-view',
    follows: [SOURCE],
    async handle(tx, message) {
      if (!relevant(message)) return
      const { id, ...rest } = change(message)
      await documents.merge(tx, id, rest)
      tracker.handled(message.id)
    },
    async handleBatch(tx, messages) {
      const mine = messages.filter(relevant)
      await documents.mergeMany(tx, mine.map(change))
      for (const message of mine) tracker.handled(message.id)
    },
    async reset(tx) {
      await documents.clear(tx)
    },
  })
}

/** The account view, stamping each message in the tracker when its page commits (see `ApplyTracker.committed`). */
export function committedAccountView(schema: string, tracker: ApplyTracker): ConsumerDefinition<Queryable> {
  return { ...accountView(schema, tracker), afterCommit: tracker.committed }
}
