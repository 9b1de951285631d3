import type { JWK } from 'jose'
import { isoTime, schemaName, type Migration, type Queryable } from '@tidings/postgres'

/** A key pair as stored: both halves as JWKs, and from when the key signs (it is published before that). */
export interface StoredKey {
  kid: string
  privateJwk: JWK
  publicJwk: JWK
  signsFrom: string
}

interface KeyRow {
  kid: string
  private_jwk: JWK
  public_jwk: JWK
  signs_from: Date | string
}

/** The identity service's signing keys, shared by its instances through its own schema. */
export class SigningKeyRepository {
  private readonly table: string

  constructor(private readonly schema: string) {
    this.table = `${schemaName(schema)}.signing_keys`
  }

  /** Every stored key, oldest signer first. */
  async all(db: Queryable): Promise<StoredKey[]> {
    const result = await db.query<KeyRow>(`SELECT kid, private_jwk, public_jwk, signs_from FROM ${this.table} ORDER BY signs_from, kid`)
    return result.rows.map((row) => ({ kid: row.kid, privateJwk: row.private_jwk, publicJwk: row.public_jwk, signsFrom: isoTime(row.signs_from) }))
  }

  /** Serialises the instances that would rotate at once: the second one then sees the first one's key. */
  async lockRotation(tx: Queryable): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.signing_keys`])
  }

  async add(tx: Queryable, key: StoredKey): Promise<void> {
    await tx.query(`INSERT INTO ${this.table} (kid, private_jwk, public_jwk, signs_from) VALUES ($1, $2, $3, $4)`, [
      key.kid,
      JSON.stringify(key.privateJwk),
      JSON.stringify(key.publicJwk),
      key.signsFrom,
    ])
  }

  async remove(tx: Queryable, kids: readonly string[]): Promise<void> {
    if (kids.length > 0) await tx.query(`DELETE FROM ${this.table} WHERE kid = ANY($1::text[])`, [kids])
  }
}

export const signingKeyMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'signing keys',
    up: (s) => `
      CREATE TABLE ${s}.signing_keys (
        kid text PRIMARY KEY,
        private_jwk jsonb NOT NULL,
        public_jwk jsonb NOT NULL,
        signs_from timestamptz NOT NULL
      )`,
  },
]
