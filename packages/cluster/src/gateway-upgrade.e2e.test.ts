import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { silentLogger } from '@tidings/core'
import { serveHttp, type RunningServer } from '@tidings/http'
import { gatewayUpgrade } from './gateway-upgrade'

/** A service that switches `/api/echo/…` to an echo protocol (every byte sent back) and says what it was asked. */
async function echoService(): Promise<{ url: string; asked: IncomingMessage[]; close(): Promise<void> }> {
  const asked: IncomingMessage[] = []
  const server = createHttpServer()
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    asked.push(req)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

/** Asks the gateway to switch `path` to the echo protocol: the switched socket, or the status it answered instead. */
function switchProtocols(port: number, path: string): Promise<Socket | number> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, headers: { Connection: 'Upgrade', Upgrade: 'echo' } })
    req.on('upgrade', (_res, socket) => resolve(socket))
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
    req.on('error', reject)
    req.end()
  })
}

const echoed = (socket: Socket, text: string) =>
  new Promise<string>((resolve) => {
    let got = ''
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString()
      if (got.length >= text.length) resolve(got)
    })
    socket.write(text)
  })

describe('protocol switches through the gateway', () => {
  const closing: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closing.splice(0)) await close()
  })

  async function entry(instances: () => string[]): Promise<RunningServer> {
    const upgrade = gatewayUpgrade({ routes: [[/^\/api\/echo(\/|$)/, 'echo']], instances, logger: silentLogger })
    const served = await serveHttp(new Hono(), 0, { hostname: '127.0.0.1', upgrade, graceMs: 100 })
    closing.push(() => served.close())
    return served
  }

  it('joins the client to an instance of the service that owns the path, taking turns, the request passed on as it came', async () => {
    const [one, two] = [await echoService(), await echoService()]
    closing.push(one.close, two.close)
    const served = await entry(() => [one.url, two.url])
    const sockets = [await switchProtocols(served.port, '/api/echo/a?x=1'), await switchProtocols(served.port, '/api/echo/b')] as Socket[]
    expect(await echoed(sockets[0]!, 'hello through the gateway')).toBe('hello through the gateway')
    expect(await echoed(sockets[1]!, 'and again')).toBe('and again')
    expect([one.asked.map((r) => r.url), two.asked.map((r) => r.url)]).toEqual([['/api/echo/a?x=1'], ['/api/echo/b']])
    expect(one.asked[0]!.headers).toMatchObject({ upgrade: 'echo', host: new URL(one.url).host })
    sockets.forEach((s) => s.destroy())
  })

  it('refuses a path no service owns (404) and answers 503 when the service has no instance or it does not answer', async () => {
    const served = await entry(() => [])
    expect(await switchProtocols(served.port, '/internal/echo')).toBe(404)
    expect(await switchProtocols(served.port, '/api/echo/a')).toBe(503)
    const gone = await echoService()
    await gone.close()
    const deadEnd = await entry(() => [gone.url])
    expect(await switchProtocols(deadEnd.port, '/api/echo/a')).toBe(503)
  })

  it('ends switched connections when the gateway closes, after its grace period', async () => {
    const service = await echoService()
    closing.push(service.close)
    const upgrade = gatewayUpgrade({ routes: [[/^\/api\/echo(\/|$)/, 'echo']], instances: () => [service.url], logger: silentLogger })
    const served = await serveHttp(new Hono(), 0, { hostname: '127.0.0.1', upgrade, graceMs: 100 })
    const socket = (await switchProtocols(served.port, '/api/echo/a')) as Socket
    const ended = new Promise((resolve) => socket.once('close', resolve))
    await served.close()
    await ended
    expect(socket.destroyed).toBe(true)
  })
})
