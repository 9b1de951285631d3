import { afterAll, describe, expect, it } from 'vitest'
import { uuidv7, type Documents, type Envelope } from '@tidings/core'
import { serveHttp } from '@tidings/http'
import { DocumentStore, migrate, platformMigrations, Subscription, type Database, type Queryable } from '@tidings/postgres'
import { redisDocuments } from '@tidings/redis'
import { eventually, ScriptedFeed, seededRandom, serviceReachable, testEngines, transactionsSettled, uniqueName } from '@tidings/testing'
import { composeBoard, type Board } from '../board'
import { BoardClient, type Member } from '../test-kit/board-client'
import { renderPostDocument, type PostDocument, type StoredPostDocument } from './post-document'
import { postDocumentProjection } from './post-document.projection'

/** Where the documents are kept: PostgreSQL rows in the projection's transaction, or Redis outside it. */
const stores = ['rows', ...((await serviceReachable('Redis', 6379)) ? ['redis' as const] : [])] as const

/**
 * Zero-payload events only say "this changed"; the projection fetches the latest state. So whatever order
 * and however often the events arrive, the documents must end equal to the command side.
 */
for (const engine of await testEngines())
for (const store of stores) {
  describe(`zero-payload convergence of post documents on ${engine.name}, documents in ${store === 'rows' ? 'PostgreSQL rows' : 'Redis'}`, () => {
    const stops: Array<() => Promise<void>> = []
    afterAll(async () => {
      for (const stop of stops.reverse()) await stop()
    })

    async function boardWithHistory(): Promise<{ db: Database; board: Board; postIds: string[]; commentsByPost: Map<string, string[]> }> {
      const { db } = await engine.freshDatabase()
      // Commands only: the board's own read side is not started, the events stay for the test to deliver.
      const board = await composeBoard({ db })
      const server = await serveHttp(board.http, 0, { hostname: '127.0.0.1' })
      stops.push(() => server.close())
      const api = new BoardClient(`http://127.0.0.1:${server.port}`)
      const members: Member[] = []
      for (let i = 0; i < 3; i++) members.push(await api.newMember(`zp${i}`))
      const postIds: string[] = []
      const commentsByPost = new Map<string, string[]>()
      for (let p = 0; p < 4; p++) {
        const writer = members[p % 3]!
        const { body } = await api.createPost(writer, { title: `Post ${p}`, content: `Content ${p}` })
        postIds.push(body.postId)
        commentsByPost.set(body.postId, [])
        for (let c = 0; c < 3; c++) {
          const author = members[(p + c) % 3]!
          const comment = await api.addComment(author, body.postId, `Comment ${c} on ${p}`)
          commentsByPost.get(body.postId)!.push(comment.body.commentId)
          if (c === 1) await api.call('PATCH', `/api/comments/${comment.body.commentId}`, { token: author.token, body: { content: `Comment ${c} on ${p}, edited` } })
          if (c === 2 && p % 2 === 0) await api.call('DELETE', `/api/comments/${comment.body.commentId}`, { token: author.token })
        }
      }
      // Ten edits of one post in quick succession, all at once.
      const edited = postIds[0]!
      const edits = await Promise.all(
        Array.from({ length: 10 }, (_, i) => api.call('PATCH', `/api/posts/${edited}`, { token: members[0]!.token, body: { title: `Edit ${i}`, content: `Edited ${i}` } })),
      )
      expect(edits.map((e) => e.status)).toEqual(Array(10).fill(200))
      for (let i = 0; i < 3; i++) await api.call('PATCH', '/api/members/me', { token: members[i]!.token, body: { nickname: `renamed${i}x${process.pid % 1000}` } })
      await api.call('PATCH', '/api/members/me', { token: members[0]!.token, body: { nickname: `twice0x${process.pid % 1000}` } })
      await api.call('DELETE', `/api/posts/${postIds[3]}`, { token: members[0]!.token })
      return { db, board, postIds, commentsByPost }
    }

    /** What the document must be, built straight from the command side's latest state. */
    async function expectedDocument(board: Board, postId: string, commentIds: string[]): Promise<PostDocument | undefined> {
      const { posts, comments, members } = { posts: board.services.post.lookup, comments: board.services.comment.lookup, members: board.services.identity.lookup }
      const post = (await posts(postId))!
      if (post.deleted) return undefined
      const nickname = async (memberId: string) => ({ memberId, nickname: (await members(memberId))!.nickname })
      const live = (await Promise.all(commentIds.map((id) => comments(id)))).filter((c) => c && !c.deleted).map((c) => c!)
      return {
        postId,
        title: post.title,
        content: post.content,
        writer: await nickname(post.writerId),
        comments: await Promise.all(live.map(async (c) => ({ commentId: c.commentId, content: c.content, author: await nickname(c.authorId), createdAt: c.createdAt, editedAt: c.editedAt }))),
        commentCount: live.length,
        createdAt: post.createdAt,
        editedAt: post.editedAt,
        version: post.version,
      }
    }

    async function allEvents(db: Database, board: Board): Promise<Map<string, Envelope[]>> {
      await transactionsSettled(db)
      const bySource = new Map<string, Envelope[]>()
      for (const service of [board.services.identity, board.services.post, board.services.comment]) {
        for (const [source, feed] of Object.entries(service.feeds)) bySource.set(source, (await feed.read('0', 10_000)).items)
      }
      return bySource
    }

    /** A fresh, empty collection of post documents in this describe's store, read through `db`. */
    async function emptyDocuments(db: Database, schema: string): Promise<Documents<StoredPostDocument>> {
      if (store === 'rows') return new DocumentStore<StoredPostDocument>(schema, 'post-documents').on(db)
      const redis = await redisDocuments({ url: 'redis://127.0.0.1:6379', prefix: uniqueName('tidings-test-zp') })
      const documents = redis.collection<StoredPostDocument>('post-documents')
      stops.push(async () => {
        await documents.clear()
        await redis.close()
      })
      return documents
    }

    /** Replays a script of each feed through a fresh projection and returns its documents. */
    /** With `batched`, pages of comment events go through the projection's batch path (batch lookups). */
    async function project(db: Database, board: Board, scripts: Map<string, Envelope[]>, batched = true): Promise<Documents<StoredPostDocument>> {
      const schema = uniqueName('zp')
      await migrate(db, schema, 'tidings', platformMigrations)
      const documents = await emptyDocuments(db, schema)
      const rows = new DocumentStore<StoredPostDocument>(schema, 'post-documents')
      const feeds = [...scripts].map(([source, script]) => new ScriptedFeed(source, script))
      const one = { posts: board.services.post.lookup, comments: board.services.comment.lookup, members: board.services.identity.lookup }
      const sources = batched ? { ...one, commentsMany: board.services.comment.lookupMany, membersMany: board.services.identity.lookupMany } : one
      const documentsOn = store === 'rows' ? (via: Queryable) => rows.on(via) : () => documents
      const subscription = new Subscription({ db, schema, consumer: postDocumentProjection(documentsOn, sources), feeds, instanceId: 'test' })
      subscription.start()
      try {
        await eventually(
          async () => (await Promise.all(feeds.map(async (f) => (await subscription.processedPosition(f.source)) === f.lastPosition))).every(Boolean),
          Boolean,
          { what: 'the projection to process every script' },
        )
      } finally {
        await subscription.stop()
      }
      return documents
    }

    async function expectConverged(board: Board, documents: Documents<StoredPostDocument>, postIds: string[], commentsByPost: Map<string, string[]>) {
      expect(await documents.count()).toBe(postIds.length - 1) // the deleted post is a tombstone
      for (const postId of postIds) {
        const stored = await documents.get(postId)
        const actual = stored && renderPostDocument(postId, stored.body)
        expect(actual).toEqual(await expectedDocument(board, postId, commentsByPost.get(postId)!))
      }
    }

    /** Each event twice: once as it was, once re-sent under a new id (so the inbox cannot hide the repeat). */
    const twice = (events: Envelope[]) => events.flatMap((e) => [e, { ...e, id: uuidv7() }])

    it('converges with every event delivered twice and in reverse order', async () => {
      const { db, board, postIds, commentsByPost } = await boardWithHistory()
      const events = await allEvents(db, board)
      expect(events.get('board.post')!.filter((e) => e.type === 'board.PostEdited.v1')).toHaveLength(10)
      const reversed = new Map([...events].map(([source, list]) => [source, twice([...list].reverse())]))
      await expectConverged(board, await project(db, board, reversed), postIds, commentsByPost)
    })

    it('converges under random interleavings with duplicates', async () => {
      const { db, board, postIds, commentsByPost } = await boardWithHistory()
      const events = await allEvents(db, board)
      for (const seed of [1, 2, 3, 4]) {
        const random = seededRandom(seed)
        const shuffled = new Map([...events].map(([source, list]) => [source, twice(list).sort(() => random() - 0.5)]))
        await expectConverged(board, await project(db, board, shuffled, seed % 2 === 0), postIds, commentsByPost)
      }
    })
  })
}
