import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { schemaName } from '@tidings/postgres'
import type { Throughput } from './load'
import { ACCOUNT_OPENED } from './workload'

const run = promisify(execFile)

/**
 * W measured by pgbench (C, libpq): figure 1's raw transaction — BEGIN; the account row; its outbox-like
 * row; COMMIT — from `clients` connections. It spends less client CPU per transaction than node-postgres,
 * so on a machine where client and server share the cores its W is higher: a second ceiling beside W.
 * The ids are made by the server (`gen_random_uuid()`; the row's id comes back with RETURNING … \gset
 * for the outbox row's key), the statements go as the `pg` driver sends them (extended protocol, unnamed
 * statements: parsed every time).
 */
export function rawScript(schema: string): string {
  const s = schemaName(schema)
  return [
    '\\set n random(1, 2000000000)',
    'BEGIN;',
    `INSERT INTO ${s}.accounts (id, owner, balance) VALUES (gen_random_uuid(), 'owner-' || :n, 100) RETURNING id AS account \\gset`,
    `INSERT INTO ${s}.raw_outbox (id, type, key, version, occurred_at, data) VALUES (gen_random_uuid(), '${ACCOUNT_OPENED}', :account, 1, now(), jsonb_build_object('owner', 'owner-' || :n, 'balance', 100));`,
    'COMMIT;',
    '',
  ].join('\n')
}

/** pgbench's path (BENCH_PGBENCH, PostgreSQL's newest bin directory, or the PATH) and version, or why there is none. */
export async function findPgbench(): Promise<{ path: string; version: string } | { missing: string }> {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : []
  const candidates = [process.env.BENCH_PGBENCH, ...versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`), 'pgbench'].filter((c): c is string => !!c)
  for (const path of candidates) {
    try {
      const { stdout } = await run(path, ['--version'])
      return { path, version: stdout.trim() }
    } catch {
      // not there: the next one
    }
  }
  return { missing: `no pgbench (tried ${candidates.join(', ')}; BENCH_PGBENCH=path sets one)` }
}

/**
 * One closed-loop round of `rawScript` on `url`: `clients` connections on 2 threads for `ms` (whole
 * seconds, at least 1). Counts the transactions pgbench processed over the time it reports for them
 * (without the initial connections).
 */
export async function pgbenchRound(pgbench: string, url: string, schema: string, clients: number, ms: number): Promise<Throughput> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-pgbench-'))
  try {
    const script = join(dir, 'w.sql')
    await writeFile(script, rawScript(schema))
    const args = ['-n', '-M', 'extended', '-c', String(clients), '-j', String(Math.min(2, clients)), '-T', String(Math.max(1, Math.round(ms / 1000))), '-f', script, url]
    const { stdout } = await run(pgbench, args, { maxBuffer: 1 << 20 })
    const ops = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1])
    const perSecond = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1])
    if (!Number.isFinite(ops) || !Number.isFinite(perSecond) || perSecond <= 0) throw new Error(`pgbench gave no rate:\n${stdout}`)
    return { ops, ms: (ops * 1000) / perSecond, perSecond }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
