import { errors, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose'
import { uuidv7, type Clock } from '@tidings/core'
import { TOKEN_ALGORITHM, type KeySource, type SigningKey } from '@tidings/auth'
import type { Database } from '@tidings/postgres'
import { SigningKeyRepository, type StoredKey } from './signing-key.repository'
import { rotationPlan, type RotationPolicy } from './rotation'

interface LoadedKey extends SigningKey {
  publicKey: CryptoKey
  publicJwk: JWK
  signsFrom: string
}

/** How often an instance looks for keys that another instance made or retired. */
const RELOAD_MS = 60_000

/**
 * The identity service's key ring: EdDSA key pairs kept in its schema and shared by its instances. The
 * newest key whose time has come signs; every key that may still have live tokens is published (JWKS). A
 * new key is made `publishAheadMs` before it starts signing, so that verifiers elsewhere already know it
 * when its first token arrives; a key whose last token has expired is deleted. Looked at again at most
 * once a minute, or at once when a token names a key this instance has not loaded.
 */
export class SigningKeys {
  private keys: LoadedKey[] = []
  private loadedAt = -Infinity
  private loading?: Promise<void>
  private readonly repository: SigningKeyRepository

  constructor(
    private readonly db: Database,
    schema: string,
    private readonly clock: Clock,
    private readonly policy: RotationPolicy,
  ) {
    this.repository = new SigningKeyRepository(schema)
  }

  /** The key to sign with now. */
  async signer(): Promise<SigningKey> {
    await this.fresh()
    const now = this.clock.now().toISOString()
    const key = this.keys.findLast((k) => k.signsFrom <= now)
    if (!key) throw new Error('identity: no signing key (the key ring was not loaded)')
    return key
  }

  /** The public keys of every key that signs or may still have live tokens. */
  async jwks(): Promise<JSONWebKeySet> {
    await this.fresh()
    return { keys: this.keys.map((k) => k.publicJwk) }
  }

  /** For verifiers in this process: a key by id, reloading once when the id is new here. */
  readonly keySource: KeySource = async (header) => {
    await this.fresh()
    let key = this.keys.find((k) => k.kid === header.kid)
    if (!key && header.kid !== undefined) {
      await this.reload()
      key = this.keys.find((k) => k.kid === header.kid)
    }
    // No key of ours by that id: the same refusal as a bad signature.
    if (!key) throw new errors.JWKSNoMatchingKey()
    return key.publicKey
  }

  /** Loads the ring, making the first key (or the next one, when rotation is due) and deleting spent ones. */
  async reload(): Promise<void> {
    this.loading ??= this.rotateAndLoad().finally(() => (this.loading = undefined))
    return this.loading
  }

  private async fresh(): Promise<void> {
    if (performance.now() - this.loadedAt >= RELOAD_MS) await this.reload()
  }

  private async rotateAndLoad(): Promise<void> {
    const stored = await this.db.transaction(async (tx) => {
      await this.repository.lockRotation(tx)
      const keys = await this.repository.all(tx)
      const plan = rotationPlan(keys, this.clock.now(), this.policy)
      await this.repository.remove(tx, plan.spent)
      const next = plan.nextSignsFrom ? await newKey(plan.nextSignsFrom) : undefined
      if (next) await this.repository.add(tx, next)
      return [...keys.filter((k) => !plan.spent.includes(k.kid)), ...(next ? [next] : [])]
    })
    this.keys = await Promise.all(stored.map(load))
    this.loadedAt = performance.now()
  }
}

async function newKey(signsFrom: Date): Promise<StoredKey> {
  const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true })
  const kid = uuidv7()
  const meta = { kid, alg: TOKEN_ALGORITHM, use: 'sig' }
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwk: { ...(await exportJWK(publicKey)), ...meta }, signsFrom: signsFrom.toISOString() }
}

async function load(key: StoredKey): Promise<LoadedKey> {
  return {
    kid: key.kid,
    privateKey: (await importJWK(key.privateJwk, TOKEN_ALGORITHM)) as CryptoKey,
    publicKey: (await importJWK(key.publicJwk, TOKEN_ALGORITHM)) as CryptoKey,
    publicJwk: key.publicJwk,
    signsFrom: key.signsFrom,
  }
}
