import { getRandomValues } from 'node:crypto'

export type IdGenerator = () => string

let lastMs = -1
let counter = 0

/** Random bytes are drawn in blocks: one system call per 256 ids instead of one per id. */
const RANDOM_BLOCK = 16 * 256
let random = new Uint8Array(0)
let randomAt = RANDOM_BLOCK

function randomBytes16(): Uint8Array {
  if (randomAt >= random.length) {
    random = new Uint8Array(RANDOM_BLOCK)
    getRandomValues(random)
    randomAt = 0
  }
  const bytes = random.slice(randomAt, randomAt + 16)
  randomAt += 16
  return bytes
}

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit counter that keeps ids minted in the same
 * millisecond in order, then 62 random bits.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs
    counter = 0
  } else if (++counter > 0xfff) {
    lastMs += 1
    counter = 0
  }
  const bytes = randomBytes16()
  let ms = lastMs
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256
    ms = Math.floor(ms / 256)
  }
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}
