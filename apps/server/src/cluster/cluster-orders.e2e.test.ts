import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import { eventually, serverInstalled, testEngines, type ManagedProcess } from '@tidings/testing'
import { startAppCluster, type AppCluster } from './app-cluster'

/**
 * Orders as a cluster (`TIDINGS_APPS=orders npm run start:cluster`): the identity service and orders' four
 * services each a process of its own on PostgreSQL, following each other over NATS (a throwaway server),
 * every request through the one entry point, with the same members and tokens as the board.
 */
const OPERATOR_SECRET = 'cluster-orders-operator-secret'
const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[orders] SKIPPED orders as a cluster: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')

describe.runIf(engine !== undefined && serverInstalled('nats-server'))('orders as a cluster (npm run start:cluster), events over NATS', () => {
  let opened: AppCluster
  let cluster: ManagedProcess
  let gateway: BoardClient
  let ann: Member
  let eve: Member
  let operator: Member
  let staff: Member

  beforeAll(async () => {
    opened = await startAppCluster(engine!, 'orders', OPERATOR_SECRET)
    ;({ cluster, gateway } = opened)
    ;[ann, eve, operator, staff] = await Promise.all([
      gateway.newMember('ann'),
      gateway.newMember('eve'),
      gateway.newMember('op', { roles: ['operator'], operatorSecret: OPERATOR_SECRET }),
      gateway.newMember('staff', { roles: ['staff'], operatorSecret: OPERATOR_SECRET }),
    ])
  }, 150_000)

  afterAll(() => opened?.stop())

  const statusOf = (orderId: string, as: Member, accept: (v: Record<string, unknown>) => boolean) =>
    eventually(async () => (await gateway.call<Record<string, unknown>>('GET', `/api/order-status/${orderId}`, { token: as.token })).body, accept, { timeoutMs: 30_000, what: `order ${orderId}` })

  it('takes an order from placing to delivery across the processes, for its customer only', async () => {
    expect(await gateway.call('POST', `/api/customers/${ann.memberId}/credit`, { token: operator.token, body: { amount: 5000 } })).toMatchObject({ status: 200, body: { credit: 5000 } })
    const placed = await gateway.call<{ orderId: string }>('POST', '/api/orders', { token: ann.token, body: { items: [{ sku: 'tea', qty: 2, unitPrice: 700 }], shippingAddress: '1 Main St' } })
    expect(placed.status).toBe(201)
    const { orderId } = placed.body
    const read = await gateway.call('GET', `/api/order-status/${orderId}`, { token: ann.token, headers: { 'Tidings-Position': placed.position! } })
    expect(read).toMatchObject({ status: 200, body: { orderId, customerId: ann.memberId, total: 1400 } })
    expect(read.headers.get('tidings-stale')).toBeNull()
    await statusOf(orderId, ann, (v) => v.paymentStatus === 'PAID' && v.deliveryStatus === 'PREPARING')
    expect(await gateway.call('GET', '/api/customers/me', { token: ann.token })).toMatchObject({ body: { credit: 3600 } })
    expect(await gateway.call('GET', `/api/order-status/${orderId}`, { token: eve.token })).toMatchObject({ status: 404, body: { code: 'ORDER_NOT_FOUND' } })
    expect(await gateway.call('POST', `/api/orders/${orderId}/cancel`, { token: eve.token })).toMatchObject({ status: 404 })
    expect(await gateway.call('POST', '/api/orders', { body: { items: [{ sku: 'x', qty: 1, unitPrice: 1 }], shippingAddress: 'x' } })).toMatchObject({ status: 401 })
    expect(await gateway.call('POST', `/api/deliveries/${orderId}/ship`, { token: ann.token })).toMatchObject({ status: 403, body: { code: 'ROLE_REQUIRED' } })
    expect(await gateway.call('POST', `/api/deliveries/${orderId}/ship`, { token: staff.token })).toMatchObject({ status: 200, body: { status: 'SHIPPED' } })
    await statusOf(orderId, ann, (v) => v.orderStatus === 'SHIPPED' && v.deliveryStatus === 'SHIPPED')
  }, 60_000)

  it('passes on only the public paths: no feed, internal route or metrics of a service is reachable through it', async () => {
    for (const path of ['/api/feeds/orders.order?after=0', '/api/feeds/identity.member?after=0', '/internal/members?ids=x', '/metrics', '/']) {
      expect((await gateway.call('GET', path)).status, path).toBe(404)
    }
    expect(await gateway.call('GET', '/.well-known/jwks.json')).toMatchObject({ status: 200, body: { keys: [{ kty: 'OKP', crv: 'Ed25519' }] } })
  })

  it('charges an order placed while payment is SIGKILLed, once payment is started again', async () => {
    const line = cluster.lines.find((l) => l.includes('listening on') && l.includes('"service":"orders.payment"'))!
    const { pid } = JSON.parse(line) as { pid: number }
    await gateway.call('POST', `/api/customers/${eve.memberId}/credit`, { token: operator.token, body: { amount: 1000 } })
    process.kill(pid, 'SIGKILL')
    const placed = await gateway.call<{ orderId: string }>('POST', '/api/orders', { token: eve.token, body: { items: [{ sku: 'pen', qty: 1, unitPrice: 300 }], shippingAddress: '2 Side St' } })
    expect(placed.status).toBe(201)
    await statusOf(placed.body.orderId, eve, (v) => v.paymentStatus === 'PAID')
    expect(cluster.lines.filter((l) => l.includes('listening on') && l.includes('"service":"orders.payment"')).length).toBe(2)
    expect(await gateway.call('GET', '/api/customers/me', { token: eve.token })).toMatchObject({ body: { credit: 700 } })
  }, 60_000)
})
