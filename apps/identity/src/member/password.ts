import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { hashingSlots } from './hashing-slots'

const SALT_BYTES = 16
const KEY_BYTES = 64

/** scrypt's cost: N (CPU and memory, a power of two), r (block size), p (parallelism). */
export interface ScryptCost {
  readonly N: number
  readonly r: number
  readonly p: number
}

/**
 * OWASP's Password Storage Cheat Sheet: N=2^17, r=8, p=1 — 128 MiB and about 0.6 s of a core per hash
 * (measured by `measure-password-cost.ts` on a 2-core AMD EPYC with Node 20: median 0.61–0.64 s for one
 * verification alone; see docs/architecture.md, Identity). Hashes stored with another cost (2^14 before)
 * still verify; `needsRehash` says which to replace.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 }

/**
 * `TIDINGS_SCRYPT_COST` (log2 of N, 14 to 17) lowers the cost, for test runs that hash hundreds of
 * passwords; never below 2^14, the cost this platform hashed at before. Unset: the default.
 */
export const SCRYPT_COST_ENV = 'TIDINGS_SCRYPT_COST'
const MIN_LOG2_N = 14

/** The cost `TIDINGS_SCRYPT_COST` asks for; anything but a whole number from 14 to 17 is a configuration error. */
export function scryptCost(setting: string | undefined): ScryptCost {
  if (setting === undefined || setting === '') return DEFAULT_SCRYPT_COST
  const log2N = /^[0-9]{1,2}$/.test(setting) ? Number(setting) : NaN
  const maxLog2N = Math.log2(DEFAULT_SCRYPT_COST.N)
  if (!(log2N >= MIN_LOG2_N && log2N <= maxLog2N)) {
    throw new Error(`${SCRYPT_COST_ENV} must be a whole number from ${MIN_LOG2_N} to ${maxLog2N} (log2 of scrypt's N), got ${JSON.stringify(setting)}`)
  }
  return { ...DEFAULT_SCRYPT_COST, N: 2 ** log2N }
}

const COST = scryptCost(process.env[SCRYPT_COST_ENV])

// Bounds on what an encoded hash may ask of us, so a corrupt or hostile row cannot make verification
// allocate gigabytes or spin for minutes.
const MAX_N = 1 << 20
const MAX_R = 32
const MAX_P = 16
const MAX_MEMORY_BYTES = 256 * 1024 * 1024
const BASE64URL = /^[A-Za-z0-9_-]+$/
const DIGITS = /^[1-9][0-9]{0,9}$/

interface Encoded {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

/**
 * Hashes a password with scrypt into `scrypt$N$r$p$<salt>$<hash>` (base64url), so that the cost can be
 * raised later while old hashes still verify. Runs on libuv's thread pool, not the event loop.
 */
export async function hashPassword(password: string, cost: ScryptCost = COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(password, salt, KEY_BYTES, cost.N, cost.r, cost.p)
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

/**
 * Whether a hash that just verified should be replaced by `hashPassword` of the same password: it was made
 * with another cost (an older, cheaper one) or key length. A string that does not parse never verifies,
 * so there is nothing to replace: false.
 */
export function needsRehash(encoded: string, cost: ScryptCost = COST): boolean {
  const parsed = parse(encoded)
  if (!parsed) return false
  return parsed.N !== cost.N || parsed.r !== cost.r || parsed.p !== cost.p || parsed.hash.length !== KEY_BYTES
}

/** Whether `password` matches `encoded`; an encoded string that cannot be parsed is simply no match. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded)
  if (!parsed || typeof password !== 'string') return false
  const hash = await derive(password, parsed.salt, parsed.hash.length, parsed.N, parsed.r, parsed.p)
  return timingSafeEqual(hash, parsed.hash)
}

function parse(encoded: unknown): Encoded | undefined {
  if (typeof encoded !== 'string' || encoded.length > 1024) return undefined
  const parts = encoded.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  if (!DIGITS.test(n) || !DIGITS.test(r) || !DIGITS.test(p) || !BASE64URL.test(salt) || !BASE64URL.test(hash)) return undefined
  const N = Number(n)
  const R = Number(r)
  const P = Number(p)
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || R > MAX_R || P > MAX_P || memoryOf(N, R, P) > MAX_MEMORY_BYTES) return undefined
  const saltBytes = Buffer.from(salt, 'base64url')
  const hashBytes = Buffer.from(hash, 'base64url')
  if (saltBytes.length < 8 || hashBytes.length < 16 || hashBytes.length > 128) return undefined
  return { N, r: R, p: P, salt: saltBytes, hash: hashBytes }
}

/** What OpenSSL's scrypt allocates; Node refuses anything above `maxmem`, whose default is 32 MiB. */
function memoryOf(N: number, r: number, p: number): number {
  return 128 * r * (N + 2) + 128 * r * p
}

/** As many hashes at once as libuv has threads (4 by default); a few dozen more may wait. */
const slot = hashingSlots(Number(process.env.UV_THREADPOOL_SIZE) || 4, 32)

function derive(password: string, salt: Buffer, keyBytes: number, N: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: memoryOf(N, r, p) + 1024 * 1024 }
  return slot(
    () =>
      new Promise((resolve, reject) => {
        // NFC so that the same password typed on different keyboards or platforms hashes the same.
        scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)))
      }),
  )
}
