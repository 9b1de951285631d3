import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock, uuidv7 } from '@tidings/core'
import { consistencyWaiter, createHttpApp, serveHttp, type RunningServer } from '@tidings/http'
import { liveMemberVerifier, tokenVerifier, type TokenVerifier } from '@tidings/auth'
import { testIssuer } from '@tidings/auth/test-kit'
import { migrate } from '@tidings/postgres'
import { eventually, testEngines } from '@tidings/testing'
import { NotificationHub } from './notification-hub'
import { NotificationRepository, notificationMigrations } from './notification.repository'
import { notificationRoutes } from './notification.routes'

/**
 * The notification stream's limits over HTTP: streams per member, and a stream that lives only as long as
 * its token (its expiry; a revocation, seen before the next notification or at the next keep-alive).
 * Tokens come from the test kit's issuer, whose key the routes trust.
 */
const issuer = await testIssuer()

/** An open stream: what it has said so far, and how it ended. */
interface OpenStream {
  status: number
  headers: Headers
  text: () => string
  /** Reads until `text` has come (throws if the stream ends first). */
  until(text: string): Promise<void>
  /** Reads until the server ends the stream. */
  ended(): Promise<string>
  close(): void
}

async function openStream(baseUrl: string, token: string): Promise<OpenStream> {
  const abort = new AbortController()
  const response = await fetch(`${baseUrl}/api/notifications/stream?access_token=${token}`, { signal: abort.signal })
  let received = ''
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader()
  const next = async (): Promise<boolean> => {
    const { value, done } = await reader!.read()
    if (!done) received += value
    return !done
  }
  return {
    status: response.status,
    headers: response.headers,
    text: () => received,
    async until(text) {
      while (!received.includes(text)) if (!(await next())) throw new Error(`stream ended before "${text}": ${received}`)
    },
    async ended() {
      while (await next());
      return received
    },
    close: () => abort.abort(),
  }
}

for (const engine of await testEngines()) {
  describe(`the notification stream's limits on ${engine.name}`, () => {
    const servers: RunningServer[] = []
    let notifications: NotificationRepository
    afterAll(async () => {
      for (const server of servers) await server.close()
    })
    beforeAll(async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('notif')
      await migrate(db, schema, 'board.notification', notificationMigrations)
      notifications = new NotificationRepository(schema)
    })

    /** The notification routes alone, trusting the test issuer, on a port of their own. */
    async function serve(verify: TokenVerifier, options: { heartbeatMs?: number } = {}) {
      const hub = new NotificationHub()
      const app = createHttpApp()
      app.route('/', notificationRoutes({ db: await engine.db(), notifications, hub, verify, waiter: consistencyWaiter([]), clock: systemClock, ...options }))
      const server = await serveHttp(app, 0, { hostname: '127.0.0.1' })
      servers.push(server)
      return { hub, baseUrl: `http://127.0.0.1:${server.port}` }
    }

    it('holds a member to five open streams: the sixth is 429 TOO_MANY_STREAMS until one closes', async () => {
      const { hub, baseUrl } = await serve(tokenVerifier(issuer.keys))
      const ann = uuidv7()
      const token = await issuer.sign(ann)
      const open: OpenStream[] = []
      for (let i = 0; i < 5; i++) {
        const stream = await openStream(baseUrl, token)
        expect(stream.status).toBe(200)
        await stream.until('event: ready')
        open.push(stream)
      }
      const sixth = await fetch(`${baseUrl}/api/notifications/stream?access_token=${token}`)
      expect(sixth.status).toBe(429)
      expect(sixth.headers.get('content-type')).toBe('application/problem+json')
      expect(sixth.headers.get('retry-after')).toBe('15')
      expect(await sixth.json()).toEqual({
        type: 'urn:tidings:problem:too-many-streams',
        title: 'Too Many Requests',
        status: 429,
        code: 'TOO_MANY_STREAMS',
        detail: 'At most 5 notification streams may be open at once; close one first',
        retryAfter: 15,
      })
      expect(hub.streamsOf(ann)).toBe(5)
      // Another member is not held by ann's streams.
      const bob = await openStream(baseUrl, await issuer.sign(uuidv7()))
      await bob.until('event: ready')
      // Closing one makes room for another.
      open.pop()!.close()
      await eventually(() => hub.streamsOf(ann), (n) => n === 4, { what: "the closed stream to leave ann's count" })
      const again = await openStream(baseUrl, token)
      expect(again.status).toBe(200)
      await again.until('event: ready')
      for (const stream of [...open, bob, again]) stream.close()
      await eventually(() => hub.streams, (n) => n === 0, { what: 'every stream to end' })
    })

    it("ends a stream at its token's expiry, with a signed-out event saying so", async () => {
      // Keep-alives every 15 s: the stream must end at the token's expiry on its own, not at a keep-alive.
      const { hub, baseUrl } = await serve(tokenVerifier(issuer.keys))
      const member = uuidv7()
      const stream = await openStream(baseUrl, await issuer.sign(member, { ttlSeconds: 2 }))
      expect(stream.status).toBe(200)
      const said = await stream.ended()
      expect(said).toMatch(/^event: ready\n/)
      expect(said.endsWith('event: signed-out\ndata: {"code":"TOKEN_EXPIRED"}\n\n')).toBe(true)
      await eventually(() => hub.streamsOf(member), (n) => n === 0, { what: 'the ended stream to leave the hub' })
    })

    it('ends a stream at the first keep-alive after its member signed out (their token version moved on)', async () => {
      const versions = new Map<string, number>()
      const verify = liveMemberVerifier(tokenVerifier(issuer.keys), async (memberId) => (versions.has(memberId) ? { tokenVersion: versions.get(memberId)! } : undefined), { ttlMs: 0 })
      const { baseUrl } = await serve(verify, { heartbeatMs: 50 })
      const member = uuidv7()
      versions.set(member, 0)
      const stream = await openStream(baseUrl, await issuer.sign(member))
      await stream.until(': keep-alive')
      versions.set(member, 1)
      const said = await stream.ended()
      expect(said.endsWith('event: signed-out\ndata: {"code":"TOKEN_REVOKED"}\n\n')).toBe(true)
      // And it cannot be opened again with that token.
      const refused = await fetch(`${baseUrl}/api/notifications/stream?access_token=${await issuer.sign(member)}`)
      expect(refused.status).toBe(401)
      expect(((await refused.json()) as { code: string }).code).toBe('TOKEN_REVOKED')
    })

    it('delivers nothing after its member signed out: the next notification ends the stream instead, without waiting for a keep-alive', async () => {
      const versions = new Map<string, number>()
      const verify = liveMemberVerifier(tokenVerifier(issuer.keys), async (memberId) => (versions.has(memberId) ? { tokenVersion: versions.get(memberId)! } : undefined), { ttlMs: 0 })
      // Keep-alives every 15 s (the default): only the check before a delivery can end the stream here.
      const { hub, baseUrl } = await serve(verify)
      const member = uuidv7()
      versions.set(member, 0)
      const notification = (postTitle: string) => ({ notificationId: uuidv7(), recipientId: member, kind: 'comment' as const, postId: uuidv7(), postTitle, commentId: uuidv7(), actor: { memberId: uuidv7(), nickname: 'x' }, createdAt: new Date().toISOString(), read: false })
      const stream = await openStream(baseUrl, await issuer.sign(member))
      await stream.until('event: ready')
      hub.publish(notification('before the sign-out'))
      await stream.until('before the sign-out')
      versions.set(member, 1)
      hub.publish(notification('after the sign-out'))
      const said = await stream.ended()
      expect(said).not.toContain('after the sign-out')
      expect(said.match(/event: notification/g)).toHaveLength(1)
      expect(said.endsWith('event: signed-out\ndata: {"code":"TOKEN_REVOKED"}\n\n')).toBe(true)
      expect(said).not.toContain(': keep-alive')
    })

    it('ends a busy stream after its member signed out too: a steady flow of notifications does not keep it open', async () => {
      const versions = new Map<string, number>()
      const verify = liveMemberVerifier(tokenVerifier(issuer.keys), async (memberId) => (versions.has(memberId) ? { tokenVersion: versions.get(memberId)! } : undefined), { ttlMs: 0 })
      const { hub, baseUrl } = await serve(verify, { heartbeatMs: 200 })
      const member = uuidv7()
      versions.set(member, 0)
      const stream = await openStream(baseUrl, await issuer.sign(member))
      await stream.until('event: ready')
      // Someone comments on the member's posts faster than the keep-alive interval, before and after sign-out.
      let sent = 0
      const flood = setInterval(() => {
        hub.publish({ notificationId: uuidv7(), recipientId: member, kind: 'comment', postId: uuidv7(), postTitle: 't', commentId: uuidv7(), actor: { memberId: uuidv7(), nickname: 'x' }, createdAt: new Date().toISOString(), read: false })
        sent++
      }, 20)
      try {
        await stream.until('event: notification')
        versions.set(member, 1)
        const said = await stream.ended()
        expect(said.endsWith('event: signed-out\ndata: {"code":"TOKEN_REVOKED"}\n\n')).toBe(true)
        expect(sent).toBeGreaterThan(0)
      } finally {
        clearInterval(flood)
      }
    })
  })
}
