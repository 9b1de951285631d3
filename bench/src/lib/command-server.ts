/**
 * The server of figures 18 and 18b, in a process of its own: `POST /commands` runs one command (a row and
 * an event) through `idempotent(uow)` — with an `Idempotency-Key` or without — and `GET /fail` answers 500,
 * raising an alert when ALERTS=on (to WEBHOOK_URL, if set). On DATABASE_URL, schema SCHEMA. Prints
 * `listening <port>`; SIGTERM stops it.
 */
import { noAlerts } from '@tidings/core'
import { AlertNotifier, createHttpApp, idempotent, serveHttp } from '@tidings/http'
import { migrate, PgDatabase, platformMigrations, schemaName, UnitOfWork } from '@tidings/postgres'

const schema = process.env.SCHEMA!
const db = new PgDatabase({ connectionString: process.env.DATABASE_URL!, maxConnections: 16, applicationName: 'tidings-bench-commands' })
await migrate(db, schema, 'tidings', platformMigrations)
await migrate(db, schema, 'bench-commands', [{ version: 1, name: 'rows', up: (s) => `CREATE TABLE ${s}.rows (id bigserial PRIMARY KEY, value int NOT NULL)` }])
const uow = new UnitOfWork({ db, schema, source: 'bench.commands' })
const notifier = process.env.ALERTS === 'on' ? new AlertNotifier({ webhookUrl: process.env.WEBHOOK_URL || undefined }) : undefined
const app = createHttpApp({ alerts: notifier ?? noAlerts })
const s = schemaName(schema)
app.post('/commands', idempotent(uow, { caller: () => 'bench' }), async (c) => {
  const { result } = await uow.run(async (tx) => {
    const row = await tx.query<{ id: string }>(`INSERT INTO ${s}.rows (value) VALUES (1) RETURNING id::text`)
    tx.record({ type: 'bench.Done', key: row.rows[0]!.id, data: {} })
    return row.rows[0]!.id
  })
  return c.json({ id: result }, 201)
})
app.get('/fail', () => {
  throw new Error('the bench route fails on purpose')
})
const server = await serveHttp(app, 0, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)
process.once('SIGTERM', () => void Promise.all([server.close(), notifier?.stop()]).then(() => db.close()).then(() => process.exit(0)))
