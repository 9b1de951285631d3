import { availableParallelism, cpus, loadavg } from 'node:os'
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from './password'

/**
 * What a log-in's password check costs on this machine, for docs/architecture.md:
 * `node --import tsx apps/identity/src/member/measure-password-cost.ts`. One verification at the default
 * cost (N=2^17, r=8, p=1) timed alone, then as many at once as the hashing slots run and queue, plus a
 * few more, to show what the slots allow and refuse. Not a test: its figures depend on the machine.
 */
const ROUNDS = 10
const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4
const QUEUED = 32 // hashingSlots' waiting room in password.ts
const BEYOND = 8

const ms = (from: number): number => performance.now() - from
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const round = (n: number): number => Math.round(n)

const loadBefore = loadavg()[0]!
const encoded = await hashPassword('correct horse', DEFAULT_SCRYPT_COST)
await verifyPassword('warm up', encoded)

const alone: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  const started = performance.now()
  await verifyPassword('correct horse', encoded)
  alone.push(ms(started))
}

let peakRss = process.memoryUsage().rss
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5)
const started = performance.now()
const outcomes = await Promise.all(
  Array.from({ length: threads + QUEUED + BEYOND }, () =>
    verifyPassword('wrong horse', encoded).then(
      () => ({ busy: false, ms: ms(started) }),
      (error: { code?: string }) => ({ busy: error.code === 'PASSWORD_CHECKS_BUSY', ms: ms(started) }),
    ),
  ),
)
clearInterval(sampler)
const checked = outcomes.filter((o) => !o.busy).map((o) => o.ms)

console.log(
  JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0]!.toFixed(2)) }, node: process.version, libuvThreads: threads },
      cost: DEFAULT_SCRYPT_COST,
      oneVerificationAloneMs: { min: round(Math.min(...alone)), median: round(median(alone)), max: round(Math.max(...alone)) },
      burst: {
        sent: outcomes.length,
        checked: checked.length,
        refusedBusy: outcomes.length - checked.length,
        firstDoneMs: round(Math.min(...checked)),
        lastDoneMs: round(Math.max(...checked)),
        verificationsPerSecond: Number(((checked.length * 1000) / Math.max(...checked)).toFixed(1)),
        peakRssMiB: round(peakRss / 2 ** 20),
      },
    },
    null,
    2,
  ),
)
