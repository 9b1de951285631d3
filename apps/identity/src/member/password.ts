import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const SALT_BYTES = 16
const KEY_BYTES = 64
const COST = { N: 16384, r: 8, p: 1 } as const

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
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(password, salt, KEY_BYTES, COST.N, COST.r, COST.p)
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$')
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

function derive(password: string, salt: Buffer, keyBytes: number, N: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: memoryOf(N, r, p) + 1024 * 1024 }
  return new Promise((resolve, reject) => {
    // NFC so that the same password typed on different keyboards or platforms hashes the same.
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}
