import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadTokenSecret, TOKEN_SECRET_FILE } from './token-secret'

const longSecret = 'x'.repeat(32)

describe('loadTokenSecret', () => {
  let root: string
  let dataDir: string

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'board-token-secret-'))
    // A directory that does not exist yet: the loader makes it.
    dataDir = join(root, 'data', 'board')
  })

  afterEach(async () => {
    await rm(root, { recursive: true, force: true })
  })

  it('uses TIDINGS_JWT_SECRET when set, and writes no file', async () => {
    const secret = await loadTokenSecret({ env: { TIDINGS_JWT_SECRET: longSecret }, dataDir })
    expect(secret).toEqual(Buffer.from(longSecret))
    await expect(stat(join(dataDir, TOKEN_SECRET_FILE))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('prefers TIDINGS_JWT_SECRET over a secret file that already exists', async () => {
    const fromFile = await loadTokenSecret({ env: {}, dataDir })
    const fromEnv = await loadTokenSecret({ env: { TIDINGS_JWT_SECRET: longSecret }, dataDir })
    expect(fromEnv).toEqual(Buffer.from(longSecret))
    expect(fromEnv).not.toEqual(fromFile)
  })

  it('refuses a TIDINGS_JWT_SECRET shorter than 32 characters, without saying what it is', async () => {
    const short = 'x'.repeat(31)
    const failure = loadTokenSecret({ env: { TIDINGS_JWT_SECRET: short }, dataDir })
    await expect(failure).rejects.toThrow(/TIDINGS_JWT_SECRET must be at least 32 characters/)
    await expect(failure).rejects.not.toThrow(short)
  })

  it('refuses to run with neither TIDINGS_JWT_SECRET nor a data directory', async () => {
    await expect(loadTokenSecret({ env: {} })).rejects.toThrow(/TIDINGS_JWT_SECRET/)
  })

  it('treats an empty TIDINGS_JWT_SECRET as unset', async () => {
    const secret = await loadTokenSecret({ env: { TIDINGS_JWT_SECRET: '' }, dataDir })
    expect(secret.length).toBe(48)
  })

  it('creates a 48-byte secret file readable only by its owner, and reuses it', async () => {
    const first = await loadTokenSecret({ env: {}, dataDir })
    expect(first.length).toBe(48)

    const path = join(dataDir, TOKEN_SECRET_FILE)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64')).toEqual(first)

    expect(await loadTokenSecret({ env: {}, dataDir })).toEqual(first)
    expect(await readdir(dataDir)).toEqual([TOKEN_SECRET_FILE])
  })

  it('gives every one of several concurrent first loads the same secret', async () => {
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadTokenSecret({ env: {}, dataDir })))
    for (const secret of secrets) expect(secret).toEqual(secrets[0])
    // The losers' temporary files are gone.
    expect(await readdir(dataDir)).toEqual([TOKEN_SECRET_FILE])
  })

  it('refuses a secret file that does not hold a usable secret', async () => {
    await loadTokenSecret({ env: {}, dataDir })
    await writeFile(join(dataDir, TOKEN_SECRET_FILE), 'short\n')
    await expect(loadTokenSecret({ env: {}, dataDir })).rejects.toThrow(/does not hold a base64 secret/)
  })
})
