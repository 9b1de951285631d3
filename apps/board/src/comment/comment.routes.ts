import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { stateRoutes, userText, uuid, validBody, validParams, withPosition } from '@tidings/http'
import { type Database, execute, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { PostNotFound } from '../post/post.contracts'
import type { PostLookup } from '../post/post.contracts'
import { addComment, CommentNotFound, deleteComment, editComment, type Comment } from './comment'
import { commentStatePath, commentStatesPath, type CommentState } from './comment.contracts'
import type { CommentRepository } from './comment.repository'
import type { BoardRoutes } from '../shared/board-service'

const CommentContent = userText(1, 2_000, { multiline: true, bidiControls: true })
const CommentIdParams = z.object({ commentId: uuid })

export interface CommentRoutesDeps {
  db: Database
  uow: UnitOfWork
  comments: CommentRepository
  /** Posts belong to the post service: asked for, never joined. */
  posts: PostLookup
  verify: TokenVerifier
  clock: Clock
}

export function commentRoutes({ db, uow, comments, posts, verify, clock }: CommentRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(verify)

  routes.post('/api/posts/:postId/comments', signedIn, validParams(z.object({ postId: uuid })), validBody(z.object({ content: CommentContent })), async (c) => {
    const { postId } = c.req.valid('param')
    // The post is looked up before the command (it locks nothing: a post deleted meanwhile is no different
    // from one deleted just after), so the command itself is one statement: the row and its event.
    const post = await posts(postId)
    if (!post || post.deleted) throw new PostNotFound(postId)
    const { result, token } = await execute(uow, comments, async () =>
      addComment({ commentId: uuidv7(), postId, authorId: c.get('memberId'), content: c.req.valid('json').content, now: clock.now() }),
    )
    withPosition(c, token)
    return c.json(stateOf(result), 201)
  })

  routes.patch('/api/comments/:commentId', signedIn, validParams(CommentIdParams), validBody(z.object({ content: CommentContent })), async (c) => {
    const { commentId } = c.req.valid('param')
    const { result, token } = await execute(uow, comments, async (tx) => editComment(await existing(tx, commentId), c.get('memberId'), c.req.valid('json').content, clock.now()))
    withPosition(c, token)
    return c.json(stateOf(result))
  })

  routes.delete('/api/comments/:commentId', signedIn, validParams(CommentIdParams), async (c) => {
    const { commentId } = c.req.valid('param')
    const { token } = await execute(uow, comments, async (tx) => deleteComment(await existing(tx, commentId), c.get('memberId')))
    withPosition(c, token)
    return c.body(null, 204)
  })

  routes.route(
    '/',
    stateRoutes({
      path: commentStatePath,
      batchPath: commentStatesPath,
      id: uuid,
      states: async (commentIds) => (await comments.byIds(db, commentIds)).map(stateOf),
      notFound: (commentId) => new CommentNotFound(commentId),
    }),
  )

  async function existing(tx: Queryable, commentId: string): Promise<Comment> {
    const comment = await comments.byId(tx, commentId, { lock: true })
    if (!comment) throw new CommentNotFound(commentId)
    return comment
  }

  return routes
}

/** What others may know of a comment: a deleted one says so, without what it said. */
export const stateOf = (comment: Comment): CommentState => (comment.deleted ? { ...comment, content: '' } : { ...comment })
