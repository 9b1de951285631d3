/**
 * The concert system for the waiting-room figures 21b and 22, in a process of its own (a child of the bench,
 * see child.ts): `concertServices` as `composeConcert` hosts them, on PostgreSQL at DATABASE_URL, with the
 * waiting room on Redis at WAITING_REDIS_URL (`waitingRoomRedisUrl`) and a capacity of ACTIVE_CAPACITY.
 * Members are CROWD tokens of a test issuer, written to TOKENS_FILE one per line (signing up 100,000
 * members would measure scrypt); OPERATOR_TOKEN schedules concerts. Idle waiters are kept for an hour:
 * the room must still hold everyone when the polling figure reads it.
 */
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { tokenVerifier } from '@tidings/auth'
import { testIssuer } from '@tidings/auth/test-kit'
import { concertServices } from '@tidings/concert'
import { hostServices, serveHttp, serviceContext, servingOf } from '@tidings/http'
import { PgDatabase } from '@tidings/postgres'
import { serveParent, wallNow } from './child'

const issuer = await testIssuer()
const db = new PgDatabase({ connectionString: process.env.DATABASE_URL!, maxConnections: 16, applicationName: 'tidings-bench-waiting' })
const ctx = serviceContext({ db })
const services = await concertServices(ctx, {
  verify: tokenVerifier(issuer.keys),
  operatorToken: process.env.OPERATOR_TOKEN,
  waitingRoom: { activeCapacity: Number(process.env.ACTIVE_CAPACITY ?? 100), waitingIdleMs: 3_600_000 },
  waitingRoomRedisUrl: process.env.WAITING_REDIS_URL!,
})
const host = hostServices(ctx, services)
await host.start()
const tokens = await Promise.all(Array.from({ length: Number(process.env.CROWD ?? 0) }, () => issuer.sign(randomUUID(), { ttlSeconds: 6 * 3600 })))
await writeFile(process.env.TOKENS_FILE!, `${tokens.join('\n')}\n`)
const server = await serveHttp(host.http, 0, { hostname: '127.0.0.1', ...servingOf(host) })

serveParent({
  now: () => wallNow(),
  stop: () => {
    setImmediate(() => void server.close().then(() => host.stop()).then(() => db.close()).finally(() => process.exit(0)))
    return true
  },
})
process.send?.({ ready: server.port })
