import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEventStream, testEngines } from '@tidings/testing'
import { concertOverHttp, type ConcertOverHttp, type Member } from '../test-kit/concert-over-http'
import { openQueueSocket } from '../test-kit/queue-socket'

for (const engine of await testEngines()) {
  describe(`the queue channel (WebSocket and SSE) on ${engine.name}`, () => {
    /** One place at a time. */
    let app: ConcertOverHttp
    beforeAll(async () => {
      app = await concertOverHttp(engine, { crowd: true, waitingRoom: { activeCapacity: 1 } })
    })
    afterAll(async () => {
      await app?.close()
    })

    const wsUrl = (token: string) => `${app.baseUrl.replace('http', 'ws')}/api/queue/${token}/ws`
    const sseUrl = (token: string) => `${app.baseUrl}/api/queue/${token}/events`
    const join = async (concertId: string, member: Member) => (await app.call('POST', `/api/concerts/${concertId}/queue`, member.token)).body as { token: string; status: string }
    const leave = async (token: string, member: Member) => expect((await app.call('DELETE', `/api/queue/${token}`, member.token)).status).toBe(200)

    it('pushes each holder its own status and position on every change, over both, until the token ends', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a, b, c, d] = await app.crowd(4)
      const tokens = [await join(concertId, a!), await join(concertId, b!), await join(concertId, c!), await join(concertId, d!)].map((j) => j.token)
      const [, bToken, cToken, dToken] = tokens as [string, string, string, string]
      const bSocket = openQueueSocket(wsUrl(bToken))
      const cSocket = openQueueSocket(wsUrl(cToken))
      const dStream = await openEventStream(sseUrl(dToken))
      expect([dStream.response.status, dStream.response.headers.get('content-type'), dStream.response.headers.get('cache-control')]).toEqual([200, 'text/event-stream', 'no-store'])
      const dNext = async () => JSON.parse((await dStream.next('status')).data) as Record<string, unknown>
      try {
        expect(await bSocket.next()).toMatchObject({ token: bToken, concertId, status: 'WAITING', position: 1 })
        expect(await cSocket.next()).toMatchObject({ token: cToken, status: 'WAITING', position: 2 })
        expect(await dNext()).toMatchObject({ token: dToken, status: 'WAITING', position: 3 })

        await leave(tokens[0]!, a!) // b is admitted; c and d move up
        expect(await bSocket.next()).toMatchObject({ token: bToken, status: 'ACTIVE', position: null, activeUntil: expect.any(String) })
        expect(await cSocket.next()).toMatchObject({ token: cToken, status: 'WAITING', position: 1 })
        expect(await dNext()).toMatchObject({ token: dToken, status: 'WAITING', position: 2 })

        await leave(bToken, b!) // b's token ends: its last view, then the socket closes
        expect(await bSocket.next()).toMatchObject({ token: bToken, status: 'EXPIRED' })
        expect(await bSocket.closed).toEqual({ code: 1000, reason: 'DONE' })
        expect(await cSocket.next()).toMatchObject({ status: 'ACTIVE' })
        expect(await dNext()).toMatchObject({ status: 'WAITING', position: 1 })
        // Each was told only of itself, and only when something moved.
        expect(cSocket.received.map((v) => v.token)).toEqual([cToken, cToken, cToken])
        expect(dStream.received.filter((e) => e.event === 'status')).toHaveLength(3)
      } finally {
        bSocket.close()
        cSocket.close()
        dStream.close()
      }
    })

    it('a token that ended gets its final view and the end at once; an unknown one is refused with its code', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a] = await app.crowd(1)
      const { token } = await join(concertId, a!)
      await leave(token, a!)
      const socket = openQueueSocket(wsUrl(token))
      expect(await socket.next()).toMatchObject({ token, status: 'EXPIRED' })
      expect(await socket.closed).toEqual({ code: 1000, reason: 'DONE' })
      const stream = await openEventStream(sseUrl(token))
      expect(JSON.parse((await stream.next('status')).data)).toMatchObject({ status: 'EXPIRED' })
      await expect(stream.next()).rejects.toThrow(/ended/)

      const unknown = 'A'.repeat(32)
      expect(await openQueueSocket(wsUrl(unknown)).closed).toEqual({ code: 4404, reason: 'QUEUE_TOKEN_NOT_FOUND' })
      const refused = await fetch(sseUrl(unknown))
      expect([refused.status, refused.headers.get('content-type'), ((await refused.json()) as { code: string }).code]).toEqual([404, 'application/problem+json', 'QUEUE_TOKEN_NOT_FOUND'])
      // Not a token at all: no stream, a plain 404 problem (never a 500).
      const malformed = await fetch(`${app.baseUrl}/api/queue/not-a-token/events`)
      expect([malformed.status, malformed.headers.get('content-type')]).toEqual([404, 'application/problem+json'])
      expect(await openQueueSocket(`${app.baseUrl.replace('http', 'ws')}/api/queue/x/ws`).closed).toMatchObject({ code: 1006 })
    })

    it('a client gone while its stream was opening does not keep a place: twenty such, then a stream opens', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a, b] = await app.crowd(2)
      await join(concertId, a!)
      const { token } = await join(concertId, b!)
      const { port } = new URL(app.baseUrl)
      // The room's tokens locked for a moment: each stream's opening waits on them while its client hangs up.
      const locked = app.db.transaction(async (tx) => {
        await tx.query('LOCK TABLE concert_waiting.tokens IN ACCESS EXCLUSIVE MODE')
        await tx.query('SELECT pg_sleep(0.6)')
      })
      await Promise.all(
        Array.from({ length: 20 }, () => new Promise<void>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1', () => {
            socket.write(`GET /api/queue/${token}/events HTTP/1.1\r\nHost: x\r\n\r\n`)
            setTimeout(() => socket.destroy(), 200)
          })
          socket.on('close', () => resolve())
          socket.on('error', () => {})
        })),
      )
      await locked
      await expect.poll(async () => {
        const stream = await openEventStream(sseUrl(token))
        stream.close()
        return stream.response.status
      }, { timeout: 10_000 }).toBe(200)
    })

    it('takes at most four connections per token: the fifth is refused (429 / close 4429)', async () => {
      const { concertId } = await app.performance(10, 1_000)
      const [a, b] = await app.crowd(2)
      await join(concertId, a!)
      const { token } = await join(concertId, b!)
      const open = [openQueueSocket(wsUrl(token)), openQueueSocket(wsUrl(token))]
      const streams = [await openEventStream(sseUrl(token)), await openEventStream(sseUrl(token))]
      try {
        for (const socket of open) expect(await socket.next()).toMatchObject({ status: 'WAITING', position: 1 })
        for (const stream of streams) await stream.next('status')
        expect(await openQueueSocket(wsUrl(token)).closed).toEqual({ code: 4429, reason: 'TOO_MANY_STREAMS' })
        const fifth = await fetch(sseUrl(token))
        expect([fifth.status, ((await fifth.json()) as { code: string }).code]).toEqual([429, 'TOO_MANY_STREAMS'])
        // One closes: a place for another.
        open[0]!.close()
        await open[0]!.closed
        await expect.poll(async () => (await openQueueSocket(wsUrl(token)).next()).status, { timeout: 5_000 }).toBe('WAITING')
      } finally {
        for (const socket of open) socket.close()
        for (const stream of streams) stream.close()
      }
    })
  })
}
