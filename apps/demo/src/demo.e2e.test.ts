import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { rawRequest, startProcess, type ManagedProcess } from '@tidings/testing'

const main = new URL('./main.ts', import.meta.url)
const dataDir = mkdtempSync(join(tmpdir(), 'tidings-demo-'))

async function startDemo(): Promise<{ process: ManagedProcess; url: string }> {
  const demo = startProcess('demo', main, { PORT: '0', TIDINGS_DATA_DIR: dataDir, DATABASE_URL: '' })
  const line = await demo.waitForLine((l) => l.includes('listening on'))
  const { port } = JSON.parse(line) as { port: number }
  return { process: demo, url: `http://127.0.0.1:${port}` }
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

describe('npm start: the demo on the embedded default, as a real process', () => {
  let demo: { process: ManagedProcess; url: string }
  afterAll(async () => {
    await demo?.process.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves commands, reads that see their writes, the feed, health and metrics', async () => {
    demo = await startDemo()
    const { url } = demo
    for (let i = 1; i <= 50; i++) {
      const write = await post(`${url}/api/accounts/acct-${i % 3}/deposits`, { amount: i })
      expect(write.status).toBe(200)
      const token = write.headers.get('tidings-position')
      expect(token).toMatch(/^demo\.accounts@\d+-\d+$/)
      const read = await fetch(`${url}/api/balances/acct-${i % 3}`, { headers: { 'Tidings-Position': token! } })
      expect(read.status).toBe(200)
      expect(read.headers.get('tidings-stale')).toBeNull()
      expect(((await read.json()) as { balance: number }).balance).toBe(((await write.json()) as { balance: number }).balance)
    }
    const viaQuery = await post(`${url}/api/accounts/acct-0/withdrawals`, { amount: 1 })
    const token = viaQuery.headers.get('tidings-position')!
    const read = await fetch(`${url}/api/balances/acct-0?position=${encodeURIComponent(token)}`)
    expect(await read.json()).toMatchObject({ accountId: 'acct-0', lastMovement: { type: 'withdrawal', amount: 1 } })

    const list = (await (await fetch(`${url}/api/balances?limit=2`)).json()) as { items: { accountId: string }[]; nextCursor: string }
    expect(list.items.map((b) => b.accountId)).toEqual(['acct-0', 'acct-1'])
    expect(list.nextCursor).toBe('acct-1')

    const feed = (await (await fetch(`${url}/api/feeds/demo.accounts?after=0&limit=1000`)).json()) as { items: { type: string }[]; next: string }
    expect(feed.items).toHaveLength(51)
    expect(feed.next).toBe(token.split('@')[1])

    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' })
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/tidings_consumer_lag_events\{subscription="demo\.balances",source="demo\.accounts"\} 0/)
    expect(metrics).toContain('tidings_outbox_backlog')
    expect(metrics).toContain('tidings_consumer_handler_duration_seconds_count')
  })

  it('answers bad input with 4xx problems and stable codes, and changes nothing', async () => {
    const { url } = demo
    const problem = async (response: Response) => ({ status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as { code: string } })
    expect(await problem(await post(`${url}/api/accounts/a/deposits`, '{"amount": '))).toMatchObject({ status: 400, type: 'application/problem+json', body: { code: 'MALFORMED_JSON' } })
    expect(await problem(await post(`${url}/api/accounts/a/deposits`, { amount: 0 }))).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    expect(await problem(await post(`${url}/api/accounts/a/deposits`, { amount: 'ten' }))).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    expect(await problem(await post(`${url}/api/accounts/${'x'.repeat(65)}/deposits`, { amount: 1 }))).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    const huge = await rawRequest(`${url}/api/accounts/a/deposits`, {
      headers: { 'content-type': 'application/json' },
      chunks: ['{"amount":1,"pad":"', ...Array.from({ length: 40 }, () => 'x'.repeat(64 * 1024)), '"}'],
    })
    expect(huge.status).toBe(413)
    expect(JSON.parse(huge.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    expect(await problem(await post(`${url}/api/accounts/nobody/withdrawals`, { amount: 1 }))).toMatchObject({ status: 409, body: { code: 'INSUFFICIENT_FUNDS' } })
    expect(await problem(await fetch(`${url}/api/balances/nobody`))).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND' } })
    expect(await problem(await fetch(`${url}/api/balances/acct-1`, { headers: { 'Tidings-Position': 'garbage' } }))).toMatchObject({ status: 400, body: { code: 'INVALID_POSITION' } })
    expect(await problem(await fetch(`${url}/api/feeds/demo.accounts?after=1-x`))).toMatchObject({ status: 400, body: { code: 'INVALID_POSITION' } })
    expect(await problem(await fetch(`${url}/api/feeds/nope?after=0`))).toMatchObject({ status: 404, body: { code: 'UNKNOWN_FEED' } })
    expect(await problem(await fetch(`${url}/api/nothing-here`))).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } })
    const feed = (await (await fetch(`${url}/api/feeds/demo.accounts?after=0&limit=1000`)).json()) as { items: unknown[] }
    expect(feed.items).toHaveLength(51)
    expect(await (await fetch(`${url}/api/balances/a`)).json()).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' })
  })

  it('keeps its data in the data directory across a graceful stop and a SIGKILL', async () => {
    const before = await (await fetch(`${demo.url}/api/balances/acct-2`)).json()
    await demo.process.kill('SIGTERM')
    expect(demo.process.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
    demo = await startDemo()
    expect(await (await fetch(`${demo.url}/api/balances/acct-2`)).json()).toEqual(before)
    const write = await post(`${demo.url}/api/accounts/acct-2/deposits`, { amount: 1000 })
    const balance = ((await write.json()) as { balance: number }).balance
    await demo.process.kill('SIGKILL')
    demo = await startDemo()
    const read = await fetch(`${demo.url}/api/balances/acct-2`, { headers: { 'Tidings-Position': write.headers.get('tidings-position')! } })
    expect(read.headers.get('tidings-stale')).toBeNull()
    expect(((await read.json()) as { balance: number }).balance).toBe(balance)
  })
})
