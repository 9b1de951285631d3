import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { postgresReachable, startProcess, TEST_DATABASE_URL, testEngines, type ManagedProcess } from '@tidings/testing'
import { SERVER_MAIN } from '../test-kit'
import { boardPageRequests } from './board-pages.arbitraries'
import { boardRequests } from './board.arbitraries'
import { concertRequests } from './concert.arbitraries'
import { consoleRequests } from './console.arbitraries'
import { DatabaseWatch } from './db-fingerprint'
import { type FuzzRequest, httpAgent } from './fuzz-request'
import { describeViolations, summary } from './fuzz-report'
import { FuzzRunner } from './fuzz-runner'
import { buildWorld, type World } from './fuzz-world'
import { identityRequests } from './identity.arbitraries'
import { ordersRequests } from './orders.arbitraries'
import { watchOutput } from './server-output'
import { platformRequests, serviceRouteRequests } from './service-routes.arbitraries'

/** Fixed, so a failure reproduces: `FUZZ_SEED=<seed> npx vitest run <this file>` (and `FUZZ_REQUESTS` for more or fewer). */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206)
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000)

// PostgreSQL, not the embedded default: PGlite's data directory opens in one process only, and the fuzz
// fingerprints the database from outside while `npm start` runs. In CI a missing server fails the run.
if (!(await postgresReachable())) throw new Error(`the fuzz suite needs PostgreSQL at ${TEST_DATABASE_URL}`)
const postgres = (await testEngines()).find((e) => e.name === 'postgres')!

/** Every public route of `npm start`, weighted roughly by how much each app has to get wrong. */
function everyRoute(world: World): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 16, arbitrary: identityRequests(world) },
    { weight: 24, arbitrary: boardRequests(world) },
    { weight: 18, arbitrary: boardPageRequests(world) },
    { weight: 20, arbitrary: ordersRequests(world) },
    { weight: 10, arbitrary: concertRequests(world) },
    { weight: 9, arbitrary: consoleRequests(world) },
    { weight: 9, arbitrary: serviceRouteRequests(world) },
    { weight: 4, arbitrary: platformRequests() },
  )
}

describe('npm start under fuzzed requests: every public route, generated bodies, params, queries and headers', () => {
  let server: ManagedProcess | undefined
  afterAll(async () => {
    await server?.kill('SIGKILL')
  })

  it(`answers ${REQUESTS} requests without a 5xx or a stack trace, refuses with problem+json, and a refusal changes nothing (seed ${SEED})`, async () => {
    const started = Date.now()
    const { db, url } = await postgres.freshDatabase()
    const secrets = { operatorSecret: randomBytes(24).toString('hex'), serviceCredential: randomBytes(24).toString('hex') }
    server = startProcess('npm start (fuzzed)', SERVER_MAIN, {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      TIDINGS_OPERATOR_TOKEN: secrets.operatorSecret,
      TIDINGS_SERVICE_TOKEN: secrets.serviceCredential,
      // The sign-in limits count per address: the fuzz sends a pool of addresses through one trusted proxy.
      // The per-account limit is off so that the members the fuzz signs in as cannot be locked out by it.
      TIDINGS_TRUST_PROXY: '1',
      TIDINGS_LOGIN_FAILURES_PER_ACCOUNT: 'off',
      // Far-future consistency tokens make reads wait their bound: short, so 10,000 requests fit the budget.
      TIDINGS_CONSISTENCY_TIMEOUT_MS: '150',
      // Payment deadlines must not fire by themselves mid-run (they would change the database between fingerprints).
      ORDERS_PAYMENT_TIMEOUT_MS: '3600000',
      // A deprecation (pg: a query on a client still busy with one) says where it came from.
      NODE_OPTIONS: [process.env.NODE_OPTIONS, '--trace-deprecation'].filter(Boolean).join(' '),
    })
    const output = watchOutput(server)
    const line = await server.waitForLine((l) => l.includes('listening on'), 120_000)
    const baseUrl = new URL(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`)

    const world = await buildWorld(baseUrl, db, secrets)
    const watch = await DatabaseWatch.open(db)
    await watch.waitSettled(30_000)
    const checkpoints = await watch.expectCheckpoints()
    const ready = Date.now()

    const requests = fc.sample(everyRoute(world), { seed: SEED, numRuns: REQUESTS })
    const agent = httpAgent()
    const runner = new FuzzRunner(world, watch, agent)
    const report = await runner.run(requests, (done) => console.log(`[fuzz] ${done} requests, ${Math.round((Date.now() - ready) / 1000)} s`))
    agent.destroy()
    await watch.waitSettled(30_000).catch((error: unknown) => report.violations.push({ kind: 'db-changed', route: '(end)', request: '', detail: String(error) }))
    for (const letter of await watch.openDeadLetters()) {
      report.violations.push({ kind: 'server-error', route: '(dead letter)', request: '', detail: `${letter.schema} ${letter.consumer}: ${letter.error}` })
    }
    report.violations.push(...output.violations())
    if (server.child.exitCode !== null || server.child.signalCode !== null) report.violations.push({ kind: 'server-error', route: '(process)', request: '', detail: `npm start exited: ${server.child.exitCode ?? server.child.signalCode}` })

    console.log(summary(report, { seed: SEED, setupMs: ready - started, runMs: Date.now() - ready, checkpoints: checkpoints.length }))
    console.log(output.warnings())
    expect(report.sent).toBe(REQUESTS)
    expect(report.violations, `fuzz seed ${SEED}:\n${describeViolations(report.violations)}`).toEqual([])
  }, 600_000) // ~2 minutes on a quiet machine; other suites running beside it can double that
})
