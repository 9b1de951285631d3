import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export const TOKEN_SECRET_ENV = 'TIDINGS_JWT_SECRET'
export const TOKEN_SECRET_FILE = 'jwt-secret'
export const MIN_TOKEN_SECRET_LENGTH = 32

export interface LoadTokenSecretOptions {
  env: NodeJS.ProcessEnv
  /** Where a generated secret is kept when the environment gives none. */
  dataDir?: string
}

/**
 * The key that signs and verifies bearer tokens: `TIDINGS_JWT_SECRET` when set, else the one kept in
 * `<dataDir>/jwt-secret`, made on first start. Every instance sharing the data dir (or the variable)
 * must load the same key, or tokens from one are refused by another. Fails loudly at startup rather
 * than run with a weak or missing key.
 */
export async function loadTokenSecret(options: LoadTokenSecretOptions): Promise<Buffer> {
  const fromEnv = options.env[TOKEN_SECRET_ENV]
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < MIN_TOKEN_SECRET_LENGTH) {
      throw new Error(`${TOKEN_SECRET_ENV} must be at least ${MIN_TOKEN_SECRET_LENGTH} characters long (it has ${fromEnv.length})`)
    }
    return Buffer.from(fromEnv, 'utf8')
  }
  if (!options.dataDir) {
    throw new Error(`No token secret: set ${TOKEN_SECRET_ENV} (at least ${MIN_TOKEN_SECRET_LENGTH} characters) or give a data directory to keep one in`)
  }
  await mkdir(options.dataDir, { recursive: true })
  const path = join(options.dataDir, TOKEN_SECRET_FILE)
  return (await createSecretFile(path)) ?? (await readSecretFile(path))
}

/**
 * Writes a fresh secret to `path` unless it exists, returning it; `undefined` when another process got
 * there first. The secret is written in full to a private temporary file ('wx', mode 600) and then
 * hard-linked into place: the link either appears complete or fails with EEXIST, so a process that
 * loses the race never reads a half-written file.
 */
async function createSecretFile(path: string): Promise<Buffer | undefined> {
  const secret = randomBytes(48)
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(temporary, `${secret.toString('base64')}\n`, { flag: 'wx', mode: 0o600 })
  try {
    await link(temporary, path)
    return secret
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw error
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

async function readSecretFile(path: string): Promise<Buffer> {
  const text = (await readFile(path, 'utf8')).trim()
  const secret = Buffer.from(text, 'base64')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || secret.length < MIN_TOKEN_SECRET_LENGTH) {
    throw new Error(`${path} does not hold a base64 secret of at least ${MIN_TOKEN_SECRET_LENGTH} bytes; delete it to have a new one made (this signs everyone out)`)
  }
  return secret
}
