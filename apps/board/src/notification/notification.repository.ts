import { isoTime, type Migration, type Queryable, schemaName, valuesList } from '@tidings/postgres'
import type { Notification } from './notification'

interface NotificationRow {
  id: string
  recipient_id: string
  post_id: string
  post_title: string
  comment_id: string
  actor_id: string
  actor_nickname: string | null
  created_at: Date | string
  read_at: Date | string | null
}

const COLUMNS = 'id, recipient_id, post_id, post_title, comment_id, actor_id, actor_nickname, created_at, read_at'

/** Notifications, newest first per recipient; one per comment at most (the comment id is unique). */
export class NotificationRepository {
  private readonly table: string

  constructor(schema: string) {
    this.table = `${schemaName(schema)}.notifications`
  }

  /** False when the comment already has its notification. */
  async add(tx: Queryable, n: Notification): Promise<boolean> {
    return (await this.addAll(tx, [n])).has(n.commentId)
  }

  /** Several in one statement; the comment ids of those added (a comment that has its notification already is left out). */
  async addAll(tx: Queryable, notifications: readonly Notification[]): Promise<Set<string>> {
    if (notifications.length === 0) return new Set()
    const values = valuesList(
      notifications.map((n) => [n.notificationId, n.recipientId, n.postId, n.postTitle, n.commentId, n.actor.memberId, n.actor.nickname, n.createdAt]),
      ['uuid', 'uuid', 'uuid', '', 'uuid', 'uuid', '', 'timestamptz'],
    )
    const result = await tx.query<{ comment_id: string }>(
      `INSERT INTO ${this.table} (${COLUMNS}) SELECT v.*, NULL::timestamptz FROM (VALUES ${values.sql}) AS v ON CONFLICT (comment_id) DO NOTHING RETURNING comment_id`,
      values.params,
    )
    return new Set(result.rows.map((r) => r.comment_id))
  }

  async list(db: Queryable, recipientId: string, options: { limit: number; before?: string }): Promise<Notification[]> {
    const result = await db.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE recipient_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [recipientId, options.before ?? null, options.limit],
    )
    return result.rows.map(toNotification)
  }

  /** Marks the recipient's notification read; undefined when they have none with that id. */
  async markRead(tx: Queryable, recipientId: string, notificationId: string, now: Date): Promise<Notification | undefined> {
    const result = await tx.query<NotificationRow>(
      `UPDATE ${this.table} SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND recipient_id = $2 RETURNING ${COLUMNS}`,
      [notificationId, recipientId, now.toISOString()],
    )
    return result.rows[0] && toNotification(result.rows[0])
  }

  async unreadCount(db: Queryable, recipientId: string): Promise<number> {
    const result = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${this.table} WHERE recipient_id = $1 AND read_at IS NULL`, [recipientId])
    return Number(result.rows[0]!.n)
  }
}

export const notificationMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'notifications',
    up: (s) => `
      CREATE TABLE ${s}.notifications (
        id uuid PRIMARY KEY,
        recipient_id uuid NOT NULL,
        post_id uuid NOT NULL,
        post_title text NOT NULL,
        comment_id uuid NOT NULL UNIQUE,
        actor_id uuid NOT NULL,
        actor_nickname text,
        created_at timestamptz NOT NULL,
        read_at timestamptz
      );
      CREATE INDEX notifications_by_recipient ON ${s}.notifications (recipient_id, id DESC)`,
  },
]

function toNotification(row: NotificationRow): Notification {
  return {
    notificationId: row.id,
    recipientId: row.recipient_id,
    kind: 'comment',
    postId: row.post_id,
    postTitle: row.post_title,
    commentId: row.comment_id,
    actor: { memberId: row.actor_id, nickname: row.actor_nickname },
    createdAt: isoTime(row.created_at),
    read: row.read_at !== null,
  }
}
