import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase } from '@tidings/postgres'
import { startProcess, testEngines, uniqueName, type ManagedProcess } from '@tidings/testing'
import { REPLAYED_HEADER } from './idempotency'

const script = new URL('./test-kit/keyed-deposits-server.ts', import.meta.url)

for (const engine of await testEngines()) {
  describe(`a keyed command whose process is SIGKILLed between its commit and its answer, on ${engine.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidings-keyed-'))
    const processes: ManagedProcess[] = []
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')))
      rmSync(dir, { recursive: true, force: true })
    })

    it('answers the retry with the stored answer, and the command had one effect', async () => {
      const where = engine.name === 'postgres' ? { DATABASE_URL: (await engine.freshDatabase()).url!, SCHEMA: uniqueName('keyed') } : { DATABASE_URL: '', DATA_DIR: join(dir, 'pglite'), SCHEMA: 'keyed' }
      const start = async (env: Record<string, string>) => {
        const server = startProcess('keyed deposits', script, { ...where, ...env })
        processes.push(server)
        const port = (await server.waitForLine((l) => l.startsWith('listening '), 120_000)).slice('listening '.length)
        return { server, url: `http://127.0.0.1:${port}/accounts/a1/deposits` }
      }
      const deposit = (url: string) =>
        fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Caller': 'ann', 'Idempotency-Key': 'pay-once' }, body: JSON.stringify({ amount: 25 }) })

      const dying = await start({ DIE_AFTER_COMMIT: '1' })
      await expect(deposit(dying.url)).rejects.toThrow()
      expect(await dying.server.exited).toBeNull()

      const { server, url } = await start({})
      const retry = await deposit(url)
      expect(retry.status).toBe(201)
      expect(retry.headers.get(REPLAYED_HEADER)).toBe('true')
      expect(retry.headers.get('tidings-position')).not.toBeNull()
      const body = (await retry.json()) as { depositId: string; balance: number }
      expect(body).toMatchObject({ balance: 25 })
      const again = await deposit(url)
      expect(await again.json()).toEqual(body)
      await server.kill('SIGTERM')

      const db = await openDatabase({ databaseUrl: where.DATABASE_URL || undefined, dataDir: where.DATA_DIR })
      try {
        const { rows } = await db.query<{ id: string }>(`SELECT id::text FROM ${where.SCHEMA}.deposits`)
        expect(rows.map((r) => r.id)).toEqual([body.depositId])
      } finally {
        await db.close()
      }
    })
  })
}
