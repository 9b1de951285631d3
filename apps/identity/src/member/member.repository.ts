import { ROLES } from '@tidings/auth'
import { isoTime, type Migration, type Queryable, schemaName } from '@tidings/postgres'
import { EmailTaken, NicknameTaken, nicknameKey, type Member } from './member'

interface MemberRow {
  id: string
  email: string
  nickname: string
  password_hash: string
  joined_at: Date | string
  roles: string[]
  version: number
  token_version: number
}

const COLUMNS = 'id, email, nickname, password_hash, joined_at, roles, version, token_version'

/** Members on the command side. Email and nickname are unique (nickname without case) by constraint. */
export class MemberRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.members`
  }

  async byId(db: Queryable, memberId: string, options: { lock?: boolean } = {}): Promise<Member | undefined> {
    const result = await db.query<MemberRow>(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`, [memberId])
    return result.rows[0] && toMember(result.rows[0])
  }

  async byIds(db: Queryable, memberIds: readonly string[]): Promise<Member[]> {
    const result = await db.query<MemberRow>(`SELECT ${COLUMNS} FROM ${this.table} WHERE id = ANY($1::uuid[])`, [memberIds])
    return result.rows.map(toMember)
  }

  async byEmail(db: Queryable, email: string): Promise<Member | undefined> {
    const result = await db.query<MemberRow>(`SELECT ${COLUMNS} FROM ${this.table} WHERE email = $1`, [email])
    return result.rows[0] && toMember(result.rows[0])
  }

  /** What the services checking a member's tokens ask for: their token version, or undefined when there is no such member. */
  async tokenStates(db: Queryable, memberIds: readonly string[]): Promise<Array<{ memberId: string; tokenVersion: number }>> {
    const result = await db.query<{ id: string; token_version: number }>(`SELECT id, token_version FROM ${this.table} WHERE id = ANY($1::uuid[])`, [memberIds])
    return result.rows.map((row) => ({ memberId: row.id, tokenVersion: Number(row.token_version) }))
  }

  async nicknameTaken(db: Queryable, nickname: string): Promise<boolean> {
    const result = await db.query(`SELECT 1 FROM ${this.table} WHERE nickname_key = $1`, [nicknameKey(nickname)])
    return result.rows.length > 0
  }

  /**
   * Inserts or updates (the whole row but email and join time: save only a member read with `lock`); a lost
   * race for an email or a nickname becomes the same 409 as the early check.
   */
  async save(tx: Queryable, member: Member): Promise<void> {
    try {
      await tx.query(
        `INSERT INTO ${this.table} (id, email, nickname, nickname_key, password_hash, joined_at, roles, version, token_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET nickname = excluded.nickname, nickname_key = excluded.nickname_key, password_hash = excluded.password_hash,
           roles = excluded.roles, version = excluded.version, token_version = excluded.token_version`,
        [member.memberId, member.email, member.nickname, nicknameKey(member.nickname), member.passwordHash, member.joinedAt, member.roles, member.version, member.tokenVersion],
      )
    } catch (error) {
      const constraint = (error as { constraint?: string; code?: string }).code === '23505' ? (error as { constraint?: string }).constraint ?? '' : ''
      if (constraint.includes('email')) throw new EmailTaken()
      if (constraint.includes('nickname')) throw new NicknameTaken(member.nickname)
      throw error
    }
  }
}

export const memberMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'members',
    up: (s) => `
      CREATE TABLE ${s}.members (
        id uuid PRIMARY KEY,
        email text NOT NULL CONSTRAINT members_email_unique UNIQUE,
        nickname text NOT NULL,
        nickname_key text NOT NULL CONSTRAINT members_nickname_unique UNIQUE,
        password_hash text NOT NULL,
        joined_at timestamptz NOT NULL,
        version int NOT NULL
      )`,
  },
  { version: 2, name: 'member roles', up: (s) => `ALTER TABLE ${s}.members ADD COLUMN roles text[] NOT NULL DEFAULT '{}'` },
  // Raised by signing out and by a password change: the tokens carry it, and earlier ones are refused.
  { version: 3, name: 'member token version', up: (s) => `ALTER TABLE ${s}.members ADD COLUMN token_version int NOT NULL DEFAULT 0` },
]

function toMember(row: MemberRow): Member {
  return {
    memberId: row.id,
    email: row.email,
    nickname: row.nickname,
    passwordHash: row.password_hash,
    joinedAt: isoTime(row.joined_at),
    roles: ROLES.filter((role) => row.roles.includes(role)),
    version: Number(row.version),
    tokenVersion: Number(row.token_version),
  }
}
