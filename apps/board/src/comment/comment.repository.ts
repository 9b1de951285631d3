import { isoTime, isoTimeOrNull, type Migration, type Queryable, runWrites, schemaName, type Write } from '@tidings/postgres'
import type { Comment } from './comment'

interface CommentRow {
  id: string
  post_id: string
  author_id: string
  content: string
  created_at: Date | string
  edited_at: Date | string | null
  deleted: boolean
  version: number
}

/** Comments on the command side, one row each; deleted ones stay so their versions keep counting. */
export class CommentRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.comments`
  }

  async byId(db: Queryable, commentId: string, options: { lock?: boolean } = {}): Promise<Comment | undefined> {
    const result = await db.query<CommentRow>(
      `SELECT id, post_id, author_id, content, created_at, edited_at, deleted, version FROM ${this.table} WHERE id = $1${options.lock ? ' FOR UPDATE' : ''}`,
      [commentId],
    )
    return result.rows[0] && toComment(result.rows[0])
  }

  async byIds(db: Queryable, commentIds: readonly string[]): Promise<Comment[]> {
    const result = await db.query<CommentRow>(
      `SELECT id, post_id, author_id, content, created_at, edited_at, deleted, version FROM ${this.table} WHERE id = ANY($1::uuid[])`,
      [commentIds],
    )
    return result.rows.map(toComment)
  }

  async save(tx: Queryable, comment: Comment): Promise<void> {
    await runWrites(tx, [this.saving(comment)])
  }

  /** The comment's row as one write, to go with its events (see `execute`). */
  saving(comment: Comment): Write {
    return {
      sql: `INSERT INTO ${this.table} (id, post_id, author_id, content, created_at, edited_at, deleted, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET content = excluded.content, edited_at = excluded.edited_at, deleted = excluded.deleted, version = excluded.version`,
      params: [comment.commentId, comment.postId, comment.authorId, comment.content, comment.createdAt, comment.editedAt, comment.deleted, comment.version],
    }
  }
}

export const commentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'comments',
    up: (s) => `
      CREATE TABLE ${s}.comments (
        id uuid PRIMARY KEY,
        post_id uuid NOT NULL,
        author_id uuid NOT NULL,
        content text NOT NULL,
        created_at timestamptz NOT NULL,
        edited_at timestamptz,
        deleted boolean NOT NULL DEFAULT false,
        version int NOT NULL
      );
      CREATE INDEX comments_by_post ON ${s}.comments (post_id)`,
  },
]

function toComment(row: CommentRow): Comment {
  return {
    commentId: row.id,
    postId: row.post_id,
    authorId: row.author_id,
    content: row.content,
    createdAt: isoTime(row.created_at),
    editedAt: isoTimeOrNull(row.edited_at),
    deleted: row.deleted,
    version: Number(row.version),
  }
}
