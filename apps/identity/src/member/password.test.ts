import { scryptSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SCRYPT_COST, hashPassword, needsRehash, scryptCost, verifyPassword } from './password'

describe('hashPassword / verifyPassword', () => {
  it('verifies the password it hashed', async () => {
    const encoded = await hashPassword('correct horse battery staple')
    expect(await verifyPassword('correct horse battery staple', encoded)).toBe(true)
  })

  it('refuses a wrong password', async () => {
    const encoded = await hashPassword('correct horse battery staple')
    expect(await verifyPassword('correct horse battery stapler', encoded)).toBe(false)
    expect(await verifyPassword('', encoded)).toBe(false)
  })

  it("hashes at OWASP's cost by default (N=2^17, r=8, p=1: 128 MiB, over Node's default maxmem) into a self-describing string", async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ N: 131072, r: 8, p: 1 })
    expect(scryptCost(undefined)).toBe(DEFAULT_SCRYPT_COST)
    const encoded = await hashPassword('pw', scryptCost(undefined))
    expect(encoded).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/)
    expect(await verifyPassword('pw', encoded)).toBe(true)
    expect(await verifyPassword('pw!', encoded)).toBe(false)
    expect(needsRehash(encoded, DEFAULT_SCRYPT_COST)).toBe(false)
  })

  it('lowers the cost for test runs with TIDINGS_SCRYPT_COST, never below the old 2^14, and refuses anything else', () => {
    expect(scryptCost('')).toBe(DEFAULT_SCRYPT_COST)
    expect(scryptCost('14')).toEqual({ N: 16384, r: 8, p: 1 })
    expect(scryptCost('17')).toEqual(DEFAULT_SCRYPT_COST)
    for (const bad of ['13', '18', '10', '14.5', 'x', '-14', '0x0e']) expect(() => scryptCost(bad), bad).toThrow(/TIDINGS_SCRYPT_COST/)
  })

  it('verifies hashes stored at the old cost (2^14) and says they need rehashing at the new one', async () => {
    const old = await hashPassword('pw', { N: 16384, r: 8, p: 1 })
    expect(old).toMatch(/^scrypt\$16384\$8\$1\$/)
    expect(await verifyPassword('pw', old)).toBe(true)
    expect(await verifyPassword('wrong', old)).toBe(false)
    expect(needsRehash(old, DEFAULT_SCRYPT_COST)).toBe(true)
    expect(needsRehash(old, { N: 16384, r: 8, p: 1 })).toBe(false)
    // Nothing to replace in a string that never verifies.
    expect(needsRehash('not a hash', DEFAULT_SCRYPT_COST)).toBe(false)
  })

  it('salts every hash, so the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')])
    expect(a).not.toBe(b)
    expect(await verifyPassword('same', a)).toBe(true)
    expect(await verifyPassword('same', b)).toBe(true)
  })

  it('verifies hashes made with other parameters, so the cost can change later', async () => {
    const encoded = await hashPassword('pw')
    const [, , , , salt] = encoded.split('$')
    // A hash made with cheaper parameters, as an older release might have stored it.
    const cheap = scryptSync('pw', Buffer.from(salt!, 'base64url'), 32, { N: 1024, r: 4, p: 2 }).toString('base64url')
    expect(await verifyPassword('pw', `scrypt$1024$4$2$${salt}$${cheap}`)).toBe(true)
    expect(await verifyPassword('wrong', `scrypt$1024$4$2$${salt}$${cheap}`)).toBe(false)
  })

  it('treats a unicode password the same in composed and decomposed form', async () => {
    const encoded = await hashPassword('caf\u00e9')
    expect(await verifyPassword('cafe\u0301', encoded)).toBe(true)
  })

  it.each([
    ['empty', ''],
    ['garbage', 'not a hash'],
    ['another algorithm', 'bcrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'],
    ['too few parts', 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0'],
    ['too many parts', 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA$x'],
    ['N not a power of two', 'scrypt$1000$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'],
    ['N huge', 'scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'],
    ['r zero', 'scrypt$16384$0$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'],
    ['p not a number', 'scrypt$16384$8$x$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA'],
    ['salt not base64url', 'scrypt$16384$8$1$c2Fsd+Hh/bH$aGFzaGhhc2hoYXNoaGFzaA'],
    ['hash empty', 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$'],
    ['hash too short', 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaA'],
  ])('returns false for a malformed encoded string (%s)', async (_, encoded) => {
    expect(await verifyPassword('pw', encoded)).toBe(false)
  })

  it('returns false for an encoded string that is not a string at all', async () => {
    expect(await verifyPassword('pw', undefined as unknown as string)).toBe(false)
  })
})
