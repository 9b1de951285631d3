/**
 * The concert system for figures 19 and 20, in a process of its own (as `npm start` would host it, on
 * PostgreSQL at DATABASE_URL): its members are CROWD tokens of a test issuer, written to TOKENS_FILE as a
 * JSON array (signing up thousands of members would measure scrypt). OPERATOR_TOKEN schedules concerts.
 * Prints `listening <port>`; SIGTERM stops it.
 */
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { tokenVerifier } from '@tidings/auth'
import { testIssuer } from '@tidings/auth/test-kit'
import { composeConcert } from '@tidings/concert'
import { serveHttp } from '@tidings/http'
import { PgDatabase } from '@tidings/postgres'

const issuer = await testIssuer()
const db = new PgDatabase({ connectionString: process.env.DATABASE_URL!, maxConnections: 16, applicationName: 'tidings-bench-concert' })
// Every member of the bench is admitted at once: the figures are of holds and payments, not of the queue.
const concert = await composeConcert({ db, operatorToken: process.env.OPERATOR_TOKEN, verify: tokenVerifier(issuer.keys), waitingRoom: { activeCapacity: 1_000_000 } })
await concert.start()
const tokens = await Promise.all(Array.from({ length: Number(process.env.CROWD ?? 0) }, () => issuer.sign(randomUUID(), { ttlSeconds: 6 * 3600 })))
await writeFile(process.env.TOKENS_FILE!, JSON.stringify(tokens))
const server = await serveHttp(concert.http, 0, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)
process.once('SIGTERM', () => void server.close().then(() => concert.stop()).then(() => db.close()).then(() => process.exit(0)))
