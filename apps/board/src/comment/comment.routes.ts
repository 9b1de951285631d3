import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { stateIdsQuery, userText, uuid, validBody, validParams, validQuery, withPosition } from '@tidings/http'
import { type Database, execute, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { requireMember, type MemberEnv } from '../auth'
import { PostNotFound } from '../post/post'
import type { PostLookup } from '../post/post.contracts'
import type { MemberTokens } from '../shared/member-tokens'
import { addComment, CommentNotFound, deleteComment, editComment, type Comment } from './comment'
import { commentStatePath, commentStatesPath, type CommentState } from './comment.contracts'
import type { CommentRepository } from './comment.repository'
import type { BoardRoutes } from '../shared/board-service'

const CommentContent = userText(1, 2_000, { multiline: true })
const CommentIdParams = z.object({ commentId: uuid })

export interface CommentRoutesDeps {
  db: Database
  uow: UnitOfWork
  comments: CommentRepository
  /** Posts belong to the post service: asked for, never joined. */
  posts: PostLookup
  tokens: MemberTokens
  clock: Clock
}

export function commentRoutes({ db, uow, comments, posts, tokens, clock }: CommentRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(tokens.verify)

  routes.post('/api/posts/:postId/comments', signedIn, validParams(z.object({ postId: uuid })), validBody(z.object({ content: CommentContent })), async (c) => {
    const { postId } = c.req.valid('param')
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

  routes.get(commentStatePath(':commentId'), validParams(CommentIdParams), async (c) => {
    const comment = await comments.byId(db, c.req.valid('param').commentId)
    if (!comment) throw new CommentNotFound(c.req.valid('param').commentId)
    return c.json(stateOf(comment))
  })

  routes.get(commentStatesPath, validQuery(stateIdsQuery(uuid)), async (c) => {
    return c.json({ items: (await comments.byIds(db, c.req.valid('query').ids)).map(stateOf) })
  })

  async function existing(tx: Queryable, commentId: string): Promise<Comment> {
    const comment = await comments.byId(tx, commentId, { lock: true })
    if (!comment) throw new CommentNotFound(commentId)
    return comment
  }

  return routes
}

export const stateOf = (comment: Comment): CommentState => ({ ...comment })
