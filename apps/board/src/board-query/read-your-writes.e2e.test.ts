import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testEngines } from '@tidings/testing'
import { serveBoard, type ServedBoard } from '../test-kit/serve-board'

const TIMES = 1_000
const CLIENTS = 4

/**
 * A client that sends back its comment's consistency token must see the comment, every time — also when
 * the document was in the hot cache just before the write (the eviction must beat the token's release).
 */
for (const engine of await testEngines()) {
  describe(`read-your-writes on ${engine.name}`, () => {
    let served: ServedBoard
    beforeAll(async () => {
      served = await serveBoard((await engine.freshDatabase()).db)
    })
    afterAll(() => served?.stop())

    it(`shows a new comment to its writer ${TIMES} times out of ${TIMES}, with the document cached before each write`, async () => {
      const api = served.client
      const writer = await api.newMember('ryw')
      const posts = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => api.createPost(writer, { title: `RYW ${i}`, content: '…' })))
      const outcomes = await Promise.all(
        posts.map(async ({ body: post }, client) => {
          const commenter = await api.newMember(`rywc${client}`)
          let seen = 0
          for (let i = 0; i < TIMES / CLIENTS; i++) {
            await api.document(post.postId) // fills the cache with the state before the write
            const added = await api.addComment(commenter, post.postId, `comment ${client}/${i}`)
            expect(added.status).toBe(201)
            const read = await api.document(post.postId, added.position)
            expect(read.headers.get('tidings-stale')).toBeNull()
            if (read.body.comments.some((c) => c.commentId === added.body.commentId)) seen++
          }
          return seen
        }),
      )
      expect(outcomes.reduce((a, b) => a + b, 0)).toBe(TIMES)
      expect(served.board.services.query.hot.stats().hits).toBeGreaterThan(0)
    }, 300_000)
  })
}
