import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startProcess, type ManagedProcess } from '@tidings/testing'
import { BoardClient, type Member } from '@tidings/board/test-kit'

const main = new URL('./main.ts', import.meta.url)
const dataDir = mkdtempSync(join(tmpdir(), 'tidings-server-'))

async function startBoard(): Promise<{ process: ManagedProcess; api: BoardClient }> {
  const board = startProcess('board', main, { PORT: '0', TIDINGS_DATA_DIR: dataDir, DATABASE_URL: '' })
  const line = await board.waitForLine((l) => l.includes('listening on'))
  const { port } = JSON.parse(line) as { port: number }
  return { process: board, api: new BoardClient(`http://127.0.0.1:${port}`) }
}

describe('npm start: the board, orders and concert on the embedded default, as a real process', () => {
  let running: { process: ManagedProcess; api: BoardClient }
  let ann: Member
  let postId: string
  afterAll(async () => {
    await running?.process.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('serves every service on one port, with health, readiness and metrics', async () => {
    running = await startBoard()
    const { api } = running
    ann = await api.newMember('main')
    const bob = await api.newMember('mainb')
    const created = await api.createPost(ann, { title: 'Durable', content: 'kept in ./data' })
    postId = created.body.postId
    const comment = await api.addComment(bob, postId, 'still here after a restart?')
    const doc = await api.document(postId, comment.position)
    expect(doc.body).toMatchObject({ title: 'Durable', commentCount: 1, writer: { nickname: ann.nickname } })
    expect((await api.call('GET', '/api/notifications', { token: ann.token, headers: { 'Tidings-Position': comment.position! } })).body).toMatchObject({ unread: 1 })
    // Orders beside the board, on the same port, with the same members: the board's member is a customer
    // (with no credit: only an operator adds it, and this process has none).
    const order = await api.call<{ orderId: string }>('POST', '/api/orders', { token: bob.token, body: { items: [{ sku: 'tea', qty: 1, unitPrice: 700 }], shippingAddress: 'Here' } })
    expect(order.status).toBe(201)
    const status = await api.call('GET', `/api/order-status/${order.body.orderId}`, { token: bob.token, headers: { 'Tidings-Position': order.position! } })
    expect(status).toMatchObject({ status: 200, body: { customerId: bob.memberId, total: 700 } })
    // The concert system too: a demo concert on the empty catalog, and the member's own wallet.
    const concerts = await api.call<{ items: Array<{ title: string; performances: Array<{ seatCount: number; availableSeats: number }> }> }>('GET', '/api/concerts')
    expect(concerts.body.items.map((c) => [c.title, c.performances.map((p) => [p.seatCount, p.availableSeats])])).toEqual([['Tidings Live', [[50, 50], [50, 50]]]])
    expect(await api.call('POST', '/api/wallet/charges', { token: bob.token, body: { amount: 5_000 } })).toMatchObject({ status: 200, body: { balance: 5_000 } })
    expect(await api.call('GET', '/healthz')).toMatchObject({ status: 200 })
    expect(await api.call('GET', '/readyz')).toMatchObject({ status: 200 })
    const metrics = await (await fetch(`${api.baseUrl}/metrics`)).text()
    expect(metrics).toMatch(/tidings_consumer_lag_events\{subscription="board-query\.post-document",source="board\.comment"\} 0/)
    expect(metrics).toContain('tidings_outbox_backlog')
  }, 180_000) // a real process: initdb of a fresh data directory takes long on a loaded machine

  it('serves the board pages at / and, without an operator token, a console that shows nothing and says how to enable it', async () => {
    const { api } = running
    const home = await fetch(`${api.baseUrl}/`)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toContain('text/html')
    expect(await home.text()).toContain('>Durable</a>')
    const console = await fetch(`${api.baseUrl}/console`)
    expect(console.status).toBe(403)
    const page = await console.text()
    expect(page).toContain('Set <code>TIDINGS_OPERATOR_TOKEN</code>')
    for (const source of ['identity.member', 'board.post', 'orders.order']) expect(page).not.toContain(source)
    for (const path of ['/console/api/overview', '/console/fragments/overview', '/console/api/events?source=orders.order']) {
      expect(await api.call('GET', path)).toMatchObject({ status: 403, body: { code: 'OPERATOR_DISABLED' } })
    }
    expect(await api.call('POST', '/console/api/subscriptions/board-query.post-document/reset')).toMatchObject({ status: 403, body: { code: 'OPERATOR_DISABLED' } })
  })

  it('limits log-in attempts and refuses a signed-out member\'s tokens, with the default limits', async () => {
    const { api } = running
    const carl = await api.newMember('mainc')
    const login = (password: string) => api.call('POST', '/api/auth/login', { body: { email: carl.email, password } })
    for (let i = 0; i < 10; i++) expect((await login(`wrong ${i}`)).status).toBe(401)
    const limited = await login('wrong again')
    expect(limited).toMatchObject({ status: 429, body: { code: 'TOO_MANY_ATTEMPTS' } })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await login('correct horse')).status).toBe(429)
    expect((await api.call('POST', '/api/auth/logout', { token: carl.token })).status).toBe(204)
    expect(await api.call('GET', '/api/members/me', { token: carl.token })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
    expect(await api.createPost(carl, { title: 'Signed out', content: 'refused' })).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
  })

  it('keeps members, tokens and documents in the data directory across a graceful stop and a SIGKILL', async () => {
    const before = (await running.api.document(postId)).body
    await running.process.kill('SIGTERM')
    expect(running.process.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
    running = await startBoard()
    expect((await running.api.document(postId)).body).toEqual(before)
    // The signing keys live in the data directory too: a token from before the restart still works.
    expect(await running.api.call('GET', '/api/members/me', { token: ann.token })).toMatchObject({ status: 200, body: { memberId: ann.memberId } })
    const edit = await running.api.call('PATCH', `/api/posts/${postId}`, { token: ann.token, body: { title: 'Durable, edited' } })
    expect(edit.status).toBe(200)
    await running.process.kill('SIGKILL')
    running = await startBoard()
    const read = await running.api.document(postId, edit.position)
    expect(read.headers.get('tidings-stale')).toBeNull()
    expect(read.body).toMatchObject({ title: 'Durable, edited', commentCount: 1, version: 2 })
  })
})
