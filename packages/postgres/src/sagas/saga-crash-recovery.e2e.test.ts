import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually, seatPaymentWorld, startProcess, testEngines, type ManagedProcess } from '@tidings/testing'
import type { Database } from '../database/database'
import { PgliteDatabase } from '../database/pglite-database'
import { schemaName } from '../database/sql'

const partyScript = new URL('../../../testing/src/fixtures/saga-party.ts', import.meta.url)
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

const SAGAS = 2_000
/** Fewer seats than sagas: 300 confirmations are refused and their debits refunded. */
const SEATS = 1_700
const MEMBERS = 50
const DEPOSIT = 10_000
const KILLS = 20
const schemas = { orchestrator: 'saga_orch', wallet: 'saga_wallet', seats: 'saga_seats' }
const env = { ORCHESTRATOR_SCHEMA: schemas.orchestrator, WALLET_SCHEMA: schemas.wallet, SEATS_SCHEMA: schemas.seats, SEATS: String(SEATS), MEMBERS: String(MEMBERS) }

/** The schemas and the members' money, before any process starts. */
async function prepare(db: Database): Promise<void> {
  const world = await seatPaymentWorld(db, schemas)
  for (let m = 0; m < MEMBERS; m++) await world.deposit(`m${m}`, DEPOSIT)
}

/** Every saga ended cleanly; nothing applied twice; money conserved; one refund per undone debit; a seat per completed payment. */
async function expectConsistent(db: Database): Promise<{ completed: number; compensated: number }> {
  const o = schemaName(schemas.orchestrator)
  const w = schemaName(schemas.wallet)
  const statuses = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${o}.sagas GROUP BY status`)
  const by = Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)]))
  expect(Object.keys(by).sort()).toEqual(['COMPENSATED', 'COMPLETED'])
  expect(by.COMPLETED! + by.COMPENSATED!).toBe(SAGAS)

  const world = await seatPaymentWorld(db, schemas, { roles: [] })
  expect(await world.appliedTwice()).toEqual([])

  const money = await db.query<{ balances: string; captured: string; charged: string }>(
    `SELECT (SELECT sum(balance) FROM ${w}.balances) AS balances,
            (SELECT coalesce(sum(amount), 0) FROM ${w}.movements WHERE status = 'DEBITED') AS captured,
            (SELECT coalesce(sum((state->>'amount')::bigint), 0) FROM ${o}.sagas WHERE status = 'COMPLETED') AS charged`,
  )
  const { balances, captured, charged } = money.rows[0]!
  expect(Number(balances) + Number(captured)).toBe(MEMBERS * DEPOSIT)
  expect(Number(captured)).toBe(Number(charged))

  // Each saga's debit, by its payment reference: completed ones kept once, compensated ones given back once (or never taken).
  const wrong = await db.query<{ id: string; status: string; movement: string | null; refunds: number | null }>(
    `SELECT s.id, s.status, m.status AS movement, m.refunds FROM ${o}.sagas s LEFT JOIN ${w}.movements m ON m.reference = s.state->>'paymentId'
     WHERE NOT ((s.status = 'COMPLETED' AND m.status = 'DEBITED' AND m.refunds = 0)
             OR (s.status = 'COMPENSATED' AND (m.status IS NULL OR (m.status = 'REFUNDED' AND m.refunds = 1) OR (m.status = 'VOIDED' AND m.refunds = 0))))`,
  )
  expect(wrong.rows).toEqual([])
  const seats = await db.query<{ orphans: string; taken: string }>(
    `SELECT count(*) FILTER (WHERE s.status IS DISTINCT FROM 'COMPLETED') AS orphans, count(*) AS taken
     FROM ${schemaName(schemas.seats)}.seats t LEFT JOIN ${o}.sagas s ON s.state->>'paymentId' = t.reference`,
  )
  expect(Number(seats.rows[0]!.orphans)).toBe(0)
  expect(Number(seats.rows[0]!.taken)).toBe(by.COMPLETED)
  return { completed: by.COMPLETED!, compensated: by.COMPENSATED! }
}

/** SIGKILLs one of the processes at a random moment, `KILLS` times, starting it again each time. */
async function killAtRandom(parties: Record<string, () => ManagedProcess>, running: Map<string, ManagedProcess>): Promise<number> {
  let kills = 0
  const names = Object.keys(parties)
  while (kills < KILLS) {
    const name = names[Math.floor(Math.random() * names.length)]!
    const victim = running.get(name)!
    // Usually once it is working, sometimes while it is still starting or recovering.
    if (Math.random() < 0.7) await victim.waitForLine((l) => l === 'ready', 120_000).catch(() => {})
    await pause(Math.random() * 1_500)
    await victim.kill('SIGKILL')
    kills++
    running.set(name, parties[name]!())
  }
  return kills
}

describe('sagas across crashes (real processes, SIGKILL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-sagas-'))
  const processes: ManagedProcess[] = []
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  })
  const start = (name: string, extra: Record<string, string>) => () => {
    const p = startProcess(name, partyScript, { ...env, ...extra })
    processes.push(p)
    return p
  }

  it(`PostgreSQL: ${SAGAS} two-step sagas, the orchestrator and both participants each a process, ${KILLS} SIGKILLs`, async () => {
    const engine = (await testEngines()).find((e) => e.name === 'postgres')
    if (!engine) return void console.log('[sagas] PostgreSQL is not reachable here: only the PGlite run')
    const { db, url } = await engine.freshDatabase()
    await prepare(db)
    const common = { DATABASE_URL: url!, DATA_DIR: '' }
    const parties = {
      orchestrator: start('orchestrator', { ...common, ROLES: 'orchestrator', SAGAS: String(SAGAS) }),
      wallet: start('wallet', { ...common, ROLES: 'wallet' }),
      seats: start('seats', { ...common, ROLES: 'seats' }),
    }
    const running = new Map(Object.entries(parties).map(([name, open]) => [name, open()]))
    const kills = await killAtRandom(parties, running)
    await eventually(
      async () => (await db.query<{ ended: string }>(`SELECT count(*) AS ended FROM ${schemaName(schemas.orchestrator)}.sagas WHERE status IN ('COMPLETED', 'COMPENSATED')`)).rows[0]!.ended,
      (ended) => Number(ended) === SAGAS,
      { timeoutMs: 240_000, what: 'every saga ended' },
    )
    await Promise.all([...running.values()].map((p) => p.kill('SIGTERM')))
    const outcome = await expectConsistent(db)
    console.log(`[sagas] postgres: ${outcome.completed} completed, ${outcome.compensated} compensated after ${kills} SIGKILLs`)
    expect(outcome.compensated).toBeGreaterThanOrEqual(SAGAS - SEATS)
  }, 600_000)

  it(`PGlite: ${SAGAS} two-step sagas in the one process that owns the data directory, ${KILLS} SIGKILLs`, async () => {
    const dataDir = join(dir, 'embedded')
    const setup = await PgliteDatabase.open({ dataDir })
    await prepare(setup)
    await setup.close()
    const parties = { all: start('embedded', { DATABASE_URL: '', DATA_DIR: dataDir, ROLES: 'orchestrator,wallet,seats', SAGAS: String(SAGAS) }) }
    const running = new Map([['all', parties.all()]])
    const kills = await killAtRandom(parties, running)
    const last = running.get('all')!
    await last.waitForLine((l) => l === `open 0 started ${SAGAS}`, 300_000)
    await last.kill('SIGTERM')
    expect(last.lines).toContain('stopped')
    const db = await PgliteDatabase.open({ dataDir })
    try {
      const outcome = await expectConsistent(db)
      console.log(`[sagas] pglite: ${outcome.completed} completed, ${outcome.compensated} compensated after ${kills} SIGKILLs`)
    } finally {
      await db.close()
    }
  }, 600_000)
})
