import { describe, expect, it } from 'vitest'
import { manualClock, uuidv7, type Envelope } from '@tidings/core'
import { migrate, schemaName, type Queryable } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import type { CommentState } from '../comment/comment.contracts'
import type { MemberState } from '@tidings/identity'
import type { PostState } from '../post/post.contracts'
import { commentNotificationsProjection, type NotificationSources } from './comment-notifications.projection'
import { NotificationRepository, notificationMigrations } from './notification.repository'

const now = new Date('2026-11-30T10:00:00.000Z')
const id = () => uuidv7()
const [ann, bob, cat] = [id(), id(), id()]
const members: MemberState[] = [
  { memberId: ann, nickname: 'ann', version: 1 },
  { memberId: bob, nickname: 'bob', version: 2 },
]
const live = { postId: id(), writerId: ann, title: 'Live', content: '…', createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 }
const posts: PostState[] = [live, { ...live, postId: id(), title: 'Gone', deleted: true, version: 2 }]
const comment = (postId: string, authorId: string): CommentState => ({ commentId: id(), postId, authorId, content: 'hi', createdAt: now.toISOString(), editedAt: null, deleted: false, version: 1 })
const comments: CommentState[] = [
  comment(live.postId, bob), // ann hears of it
  comment(live.postId, ann), // her own: nobody
  comment(posts[1]!.postId, bob), // on a deleted post: nobody
  comment(live.postId, cat), // by a member the lookup does not know: ann hears of it, without a nickname
  { ...comment(live.postId, bob), deleted: true }, // deleted since: nobody
]
const added = (c: Pick<CommentState, 'commentId' | 'postId'>, type = 'board.CommentAdded.v1'): Envelope => ({
  id: id(),
  type,
  source: 'board.comment',
  key: c.commentId,
  occurredAt: now.toISOString(),
  data: { commentId: c.commentId, postId: c.postId },
  meta: {},
})
const messages = [...comments.map((c) => added(c)), added(comments[0]!, 'board.CommentEdited.v1'), added({ commentId: id(), postId: live.postId })]

/** The lookups over maps, noting every call, with or without the batch ones. */
function lookups(batch: boolean) {
  const calls: string[] = []
  const find = <T>(name: string, all: T[], key: (t: T) => string) => async (k: string) => (calls.push(name), all.find((t) => key(t) === k))
  const findMany = <T>(name: string, all: T[], key: (t: T) => string) => async (ks: readonly string[]) => (calls.push(`${name}(${ks.length})`), all.filter((t) => ks.includes(key(t))))
  const sources: NotificationSources = {
    comments: find('comment', comments, (c) => c.commentId),
    posts: find('post', posts, (p) => p.postId),
    members: find('member', members, (m) => m.memberId),
    ...(batch
      ? { commentsMany: findMany('comments', comments, (c) => c.commentId), postsMany: findMany('posts', posts, (p) => p.postId), membersMany: findMany('members', members, (m) => m.memberId) }
      : {}),
  }
  return { sources, calls }
}

for (const engine of await testEngines()) {
  describe(`comment notifications on ${engine.name}`, () => {
    async function run(batch: boolean) {
      const db = await engine.db()
      const schema = await engine.freshSchema('notifications')
      await migrate(db, schema, 'board.notification', notificationMigrations)
      const { sources, calls } = lookups(batch)
      const created: string[] = []
      const projection = commentNotificationsProjection(new NotificationRepository(schema), sources, manualClock(now), (n) => created.push(n.commentId))
      await db.transaction((tx: Queryable) => projection.handleBatch!(tx, messages))
      projection.afterCommit!(messages)
      const stored = await db.query<{ comment_id: string; recipient_id: string; post_title: string; actor_nickname: string | null }>(
        `SELECT comment_id, recipient_id, post_title, actor_nickname FROM ${schemaName(schema)}.notifications ORDER BY comment_id`,
      )
      return { stored: stored.rows, calls, created }
    }

    it('notifies the same from a page in three batch lookups as one message at a time', async () => {
      const batched = await run(true)
      const single = await run(false)
      const expected = [
        { comment_id: comments[0]!.commentId, recipient_id: ann, post_title: 'Live', actor_nickname: 'bob' },
        { comment_id: comments[3]!.commentId, recipient_id: ann, post_title: 'Live', actor_nickname: null },
      ].sort((a, b) => a.comment_id.localeCompare(b.comment_id))
      expect(batched.stored).toEqual(expected)
      expect(single.stored).toEqual(expected)
      expect(batched.calls).toEqual(['comments(6)', 'posts(2)', 'members(3)'])
      expect(single.calls.length).toBeGreaterThan(6)
      expect(batched.created.sort()).toEqual(expected.map((n) => n.comment_id))
    })

    it('adds a page\'s notifications in one insert: a comment notified before, or twice in the page, is added and pushed once', async () => {
      const db = await engine.db()
      const schema = await engine.freshSchema('notifications')
      await migrate(db, schema, 'board.notification', notificationMigrations)
      const created: string[] = []
      const projection = commentNotificationsProjection(new NotificationRepository(schema), lookups(true).sources, manualClock(now), (n) => created.push(n.commentId))
      const apply = async (page: Envelope[]) => {
        await db.transaction((tx: Queryable) => projection.handleBatch!(tx, page))
        projection.afterCommit!(page)
      }
      await apply([added(comments[0]!)])
      // Replays (new message ids, as after a rebuild) of a notified comment, and a new comment twice.
      await apply([added(comments[0]!), added(comments[3]!), added(comments[3]!)])
      expect(created).toEqual([comments[0]!.commentId, comments[3]!.commentId])
      const stored = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schemaName(schema)}.notifications`)
      expect(Number(stored.rows[0]!.n)).toBe(2)
    })
  })
}
