import { isoTime, isoTimeOrNull, type Migration, type Queryable, runWrites, schemaName, type Write } from '@tidings/postgres'
import type { Post } from './post'

interface PostRow {
  id: string
  writer_id: string
  title: string
  content: string
  created_at: Date | string
  edited_at: Date | string | null
  deleted: boolean
  version: number
}

/** Posts on the command side, one row each; deleted ones stay as rows so their versions keep counting. */
export class PostRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.posts`
  }

  async byId(db: Queryable, postId: string, options: { lock?: boolean } = {}): Promise<Post | undefined> {
    const result = await db.query<PostRow>(
      `SELECT id, writer_id, title, content, created_at, edited_at, deleted, version FROM ${this.table} WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [postId],
    )
    return result.rows[0] && toPost(result.rows[0])
  }

  async byIds(db: Queryable, postIds: readonly string[]): Promise<Post[]> {
    const result = await db.query<PostRow>(`SELECT id, writer_id, title, content, created_at, edited_at, deleted, version FROM ${this.table} WHERE id = ANY($1::uuid[])`, [postIds])
    return result.rows.map(toPost)
  }

  async save(tx: Queryable, post: Post): Promise<void> {
    await runWrites(tx, [this.saving(post)])
  }

  /** The post's row as one write, to go with its events (see `execute`). */
  saving(post: Post): Write {
    return {
      sql: `INSERT INTO ${this.table} (id, writer_id, title, content, created_at, edited_at, deleted, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET title = excluded.title, content = excluded.content, edited_at = excluded.edited_at,
         deleted = excluded.deleted, version = excluded.version`,
      params: [post.postId, post.writerId, post.title, post.content, post.createdAt, post.editedAt, post.deleted, post.version],
    }
  }
}

export const postMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'posts',
    up: (s) => `
      CREATE TABLE ${s}.posts (
        id uuid PRIMARY KEY,
        writer_id uuid NOT NULL,
        title text NOT NULL,
        content text NOT NULL,
        created_at timestamptz NOT NULL,
        edited_at timestamptz,
        deleted boolean NOT NULL DEFAULT false,
        version int NOT NULL
      )`,
  },
]

function toPost(row: PostRow): Post {
  return {
    postId: row.id,
    writerId: row.writer_id,
    title: row.title,
    content: row.content,
    createdAt: isoTime(row.created_at),
    editedAt: isoTimeOrNull(row.edited_at),
    deleted: row.deleted,
    version: Number(row.version),
  }
}
