import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, testEngines } from '@tidings/testing'
import type { Database } from '@tidings/postgres'
import { documentOnceReady } from '../test-kit/problems'
import { serveBoard, type ServedBoard } from '../test-kit/serve-board'
import type { BoardClient, Member, PostDocumentBody } from '../test-kit/board-client'
import { COMMENT_SCHEMA } from './comment.service'

/**
 * The comment command as one statement (its post looked up before it, its row and event sent together):
 * concurrent comments and edits, and a comment on a post deleted just before. Whatever the interleaving,
 * every comment row has its events and every event its row.
 */
for (const engine of await testEngines()) {
  describe(`comments in one statement under attack on ${engine.name}`, () => {
    let served: ServedBoard
    let db: Database
    let api: BoardClient
    let ann: Member
    let bob: Member

    /** The comment rows of a post, and the comment events of each, as the command side has them. */
    async function commandSide(postId: string) {
      const rows = (
        await db.query<{ id: string; content: string; version: number; deleted: boolean }>(
          `SELECT id::text, content, version, deleted FROM ${COMMENT_SCHEMA}.comments WHERE post_id = $1 ORDER BY id`,
          [postId],
        )
      ).rows
      const events = (
        await db.query<{ key: string; versions: string[] }>(
          `SELECT key, array_agg(version::text ORDER BY version) AS versions FROM ${COMMENT_SCHEMA}.outbox WHERE key = ANY($1::text[]) GROUP BY key`,
          [rows.map((row) => row.id)],
        )
      ).rows
      return { rows, versions: new Map(events.map((e) => [e.key, e.versions.map(Number)])) }
    }

    beforeAll(async () => {
      ;({ db } = await engine.freshDatabase())
      served = await serveBoard(db)
      api = served.client
      ann = await api.newMember('ann')
      bob = await api.newMember('bob')
    })
    afterAll(() => served?.stop())

    it('takes concurrent comments on one post, each a row with its one event, all in the document', async () => {
      const created = await api.createPost(ann, { title: 'Busy', content: '…' })
      const postId = created.body.postId
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => api.addComment(i % 2 ? ann : bob, postId, `comment ${i}`)))
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201))
      const ids = answers.map((a) => a.body.commentId)
      expect(new Set(ids).size).toBe(8)
      const { rows, versions } = await commandSide(postId)
      expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort())
      for (const row of rows) expect(versions.get(row.id), row.id).toEqual([1])
      const positions = answers.map((a) => a.position)
      const last = positions.at(-1)!
      const document = await documentOnceReady(api, postId, last, (doc: PostDocumentBody) => doc.commentCount === 8)
      expect(document.comments.map((c) => c.commentId).sort()).toEqual([...ids].sort())
    })

    it('refuses a comment on a post deleted just before (404), writing nothing', async () => {
      const created = await api.createPost(ann, { title: 'Going', content: '…' })
      const postId = created.body.postId
      const deleted = await api.call('DELETE', `/api/posts/${postId}`, { token: ann.token })
      expect(deleted.status).toBe(204)
      const late = await api.addComment(bob, postId, 'too late')
      expect([late.status, (late.body as unknown as { code: string }).code]).toEqual([404, 'POST_NOT_FOUND'])
      expect(await commandSide(postId)).toEqual({ rows: [], versions: new Map() })
      const never = await api.addComment(bob, '00000000-0000-4000-8000-000000000000', 'nowhere')
      expect(never.status).toBe(404)
    })

    it('keeps a comment row and its events in step under concurrent edits: one version per event, the row the last edit', async () => {
      const created = await api.createPost(ann, { title: 'Edited', content: '…' })
      const postId = created.body.postId
      const comment = await api.addComment(bob, postId, 'first words')
      const commentId = comment.body.commentId
      const edits = await Promise.all(
        Array.from({ length: 6 }, (_, i) => api.call<{ content: string; version: number }>('PATCH', `/api/comments/${commentId}`, { token: bob.token, body: { content: `edit ${i}` } })),
      )
      for (const edit of edits) expect([200, 409], JSON.stringify(edit.body)).toContain(edit.status)
      const done = edits.filter((edit) => edit.status === 200)
      expect(done.length).toBeGreaterThan(0)
      const { rows, versions } = await commandSide(postId)
      expect(rows).toHaveLength(1)
      const row = rows[0]!
      // Each edit that answered 200 made one version; the row is at the last of them, with its words.
      expect(versions.get(commentId)).toEqual(Array.from({ length: done.length + 1 }, (_, i) => i + 1))
      expect(row.version).toBe(done.length + 1)
      const lastEdit = done.find((edit) => edit.body.version === row.version)
      expect(lastEdit?.body.content).toBe(row.content)
      await eventually(
        () => api.document(postId),
        (doc) => doc.status === 200 && doc.body.comments.some((c) => c.commentId === commentId && c.content === row.content),
        { what: 'the last edit in the document' },
      )
    })
  })
}
