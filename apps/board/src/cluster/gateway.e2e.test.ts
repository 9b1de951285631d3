import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '@tidings/core'
import { boardGateway } from './gateway'

/** A TCP server that takes each connection and drops it once the request has arrived: a service that died mid-request. */
async function dropsRequests(): Promise<Server> {
  const server = createServer((socket) => socket.once('data', () => socket.destroy()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('the board gateway when a service does not answer', () => {
  const servers: Server[] = []
  afterEach(() => servers.splice(0).forEach((s) => s.close()))

  const post = (gateway: ReturnType<typeof boardGateway>) =>
    gateway.request('/api/posts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 't', content: 'c' }) })

  it('says 503, try again, when the request never reached it (nothing listens)', async () => {
    const port = await closedPort()
    const gateway = boardGateway({ instances: () => [`http://127.0.0.1:${port}`], logger: silentLogger })
    const answer = await post(gateway)
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toBe('1')
    expect(await answer.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
  })

  it('says 502 without inviting a retry when a write reached it and the connection failed: it may have been applied', async () => {
    const server = await dropsRequests()
    servers.push(server)
    const gateway = boardGateway({ instances: () => [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], logger: silentLogger })
    const answer = await post(gateway)
    expect(answer.status).toBe(502)
    expect(answer.headers.get('retry-after')).toBeNull()
    expect(await answer.json()).toMatchObject({ code: 'SERVICE_FAILED' })
    // A read is safe to send again: still 503 with a retry.
    const read = await gateway.request('/api/posts')
    expect(read.status).toBe(503)
    expect(read.headers.get('retry-after')).toBe('1')
  })
})
