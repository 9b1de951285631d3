import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually, pendingTimeouts, startProcess, testEngines, type ManagedProcess } from '@tidings/testing'
import type { Database } from '../database/database'
import { PgliteDatabase } from '../database/pglite-database'
import { schemaName } from '../database/sql'

const timersScript = new URL('../../../testing/src/fixtures/saga-timers.ts', import.meta.url)
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))
const TIMEOUTS = 100_000
const KILLS = 20
const SCHEMA = 'saga_timers'

/** Counts as numbers: PostgreSQL answers bigints as text, PGlite as numbers. */
const numbers = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'status' ? v : Number(v)]))

/** None lost, none delivered twice, each saga timed out once; returns how late they fired (ms, p50/p99/max). */
async function expectEachFiredOnce(db: Database): Promise<{ p50: number; p99: number; max: number }> {
  const s = schemaName(SCHEMA)
  const fired = await db.query<{ deliveries: string; timers: string }>(`SELECT count(*) AS deliveries, count(DISTINCT timer_id) AS timers FROM ${s}.fired`)
  expect(numbers(fired.rows[0]!)).toEqual({ deliveries: TIMEOUTS, timers: TIMEOUTS })
  const sagas = await db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${s}.sagas GROUP BY status`)
  expect(sagas.rows.map(numbers)).toEqual([{ status: 'COMPENSATED', n: TIMEOUTS }])
  const timedOut = await db.query<{ n: string; sagas: string }>(`SELECT count(*) AS n, count(DISTINCT saga_id) AS sagas FROM ${s}.saga_history WHERE outcome = 'timed_out'`)
  expect(numbers(timedOut.rows[0]!)).toEqual({ n: TIMEOUTS, sagas: TIMEOUTS })
  const late = await db.query<{ p50: number; p99: number; max: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
     FROM (SELECT extract(epoch FROM h.at - d.due_at) * 1000 AS ms FROM ${s}.saga_history h JOIN ${s}.due d ON d.saga_id = h.saga_id WHERE h.outcome = 'timed_out') l`,
  )
  const { p50, p99, max } = late.rows[0]!
  return { p50: Math.round(Number(p50)), p99: Math.round(Number(p99)), max: Math.round(Number(max)) }
}

describe(`${TIMEOUTS.toLocaleString('en-US')} saga timeouts across ${KILLS} SIGKILLs of their runners`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-timers-'))
  const processes: ManagedProcess[] = []
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')))
    rmSync(dir, { recursive: true, force: true })
  })
  const runner = (env: Record<string, string>) => () => {
    const p = startProcess('timers', timersScript, { SCHEMA, ...env })
    processes.push(p)
    return p
  }

  /** Kills one of the runners at random moments while the timers come due; each is started again at once. */
  async function killWhileDue(starts: Array<() => ManagedProcess>, running: ManagedProcess[]): Promise<void> {
    for (let kills = 0; kills < KILLS; kills++) {
      await pause(1_000 + Math.random() * 3_000)
      const i = Math.floor(Math.random() * running.length)
      await running[i]!.kill('SIGKILL')
      running[i] = starts[i]!()
    }
  }

  it('PostgreSQL, two runners (one killed at a time): each fires once, and on time', async () => {
    const engine = (await testEngines()).find((e) => e.name === 'postgres')
    if (!engine) return void console.log('[timers] PostgreSQL is not reachable here: only the PGlite run')
    const { db, url } = await engine.freshDatabase()
    const spreadMs = 100_000
    await pendingTimeouts(db, SCHEMA, TIMEOUTS, new Date(Date.now() + 10_000), spreadMs)
    const starts = [runner({ DATABASE_URL: url!, DATA_DIR: '' }), runner({ DATABASE_URL: url!, DATA_DIR: '' })]
    const running = starts.map((start) => start())
    await killWhileDue(starts, running)
    await eventually(
      async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schemaName(SCHEMA)}.scheduled_messages`)).rows[0]!.n),
      (n) => n === 0,
      { timeoutMs: 300_000, what: 'every timer delivered' },
    )
    await Promise.all(running.map((p) => p.kill('SIGTERM')))
    const late = await expectEachFiredOnce(db)
    console.log(`[timers] postgres: ${TIMEOUTS} timeouts due over ${spreadMs / 1000} s, ${KILLS} SIGKILLs of 2 runners: fired late by p50 ${late.p50} ms, p99 ${late.p99} ms, max ${late.max} ms`)
  }, 600_000)

  it('PGlite, the one runner owning the data directory: each fires once (late while it is down)', async () => {
    const dataDir = join(dir, 'embedded')
    const setup = await PgliteDatabase.open({ dataDir })
    const spreadMs = 150_000
    await pendingTimeouts(setup, SCHEMA, TIMEOUTS, new Date(Date.now() + 15_000), spreadMs)
    await setup.close()
    const starts = [runner({ DATABASE_URL: '', DATA_DIR: dataDir })]
    const running = starts.map((start) => start())
    await killWhileDue(starts, running)
    await running[0]!.waitForLine((l) => l === 'pending 0', 400_000)
    await running[0]!.kill('SIGTERM')
    expect(running[0]!.lines).toContain('stopped')
    const db = await PgliteDatabase.open({ dataDir })
    try {
      const late = await expectEachFiredOnce(db)
      const retried = processes.flatMap((p) => p.lines).filter((l) => l.startsWith('open retried')).length
      console.log(`[timers] pglite: ${TIMEOUTS} timeouts due over ${spreadMs / 1000} s, ${KILLS} SIGKILLs of its runner: fired late by p50 ${late.p50} ms, p99 ${late.p99} ms, max ${late.max} ms; ${retried} opens of the data directory tried again`)
    } finally {
      await db.close()
    }
  }, 900_000)
})
