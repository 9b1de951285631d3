import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type Clock } from '@tidings/core'
import { stateRoutes, userText, uuid, validBody, validParams, withPosition } from '@tidings/http'
import { type Database, execute, type Queryable, type UnitOfWork } from '@tidings/postgres'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { createPost, deletePost, editPost, type Post } from './post'
import { PostNotFound, postStatePath, postStatesPath, type PostState } from './post.contracts'
import type { PostRepository } from './post.repository'
import type { BoardRoutes } from '../shared/board-service'

export const Title = userText(1, 200)
export const Content = userText(1, 20_000, { multiline: true, bidiControls: true })
const PostIdParams = z.object({ postId: uuid })
const EditBody = z.object({ title: Title.optional(), content: Content.optional() }).refine((b) => b.title !== undefined || b.content !== undefined, 'give a title, a content or both')

export interface PostRoutesDeps {
  db: Database
  uow: UnitOfWork
  posts: PostRepository
  verify: TokenVerifier
  clock: Clock
}

/** The post command side: each request one unit of work whose response carries its consistency token. */
export function postRoutes({ db, uow, posts, verify, clock }: PostRoutesDeps): BoardRoutes {
  const routes = new Hono<MemberEnv>()
  const signedIn = requireMember(verify)

  routes.post('/api/posts', signedIn, validBody(z.object({ title: Title, content: Content })), async (c) => {
    const { result, token } = await execute(uow, posts, async () =>
      createPost({ ...c.req.valid('json'), postId: uuidv7(), writerId: c.get('memberId'), now: clock.now() }),
    )
    withPosition(c, token)
    return c.json(stateOf(result), 201)
  })

  routes.patch('/api/posts/:postId', signedIn, validParams(PostIdParams), validBody(EditBody), async (c) => {
    const { postId } = c.req.valid('param')
    const { result, token } = await execute(uow, posts, async (tx) => editPost(await existing(tx, postId), c.get('memberId'), c.req.valid('json'), clock.now()))
    withPosition(c, token)
    return c.json(stateOf(result))
  })

  routes.delete('/api/posts/:postId', signedIn, validParams(PostIdParams), async (c) => {
    const { postId } = c.req.valid('param')
    const { token } = await execute(uow, posts, async (tx) => deletePost(await existing(tx, postId), c.get('memberId')))
    withPosition(c, token)
    return c.body(null, 204)
  })

  routes.route(
    '/',
    stateRoutes({
      path: postStatePath,
      batchPath: postStatesPath,
      id: uuid,
      states: async (postIds) => (await posts.byIds(db, postIds)).map(stateOf),
      notFound: (postId) => new PostNotFound(postId),
    }),
  )

  async function existing(tx: Queryable, postId: string): Promise<Post> {
    const post = await posts.byId(tx, postId, { lock: true })
    if (!post) throw new PostNotFound(postId)
    return post
  }

  return routes
}

/** What others may know of a post: a deleted one says so, without its title or content. */
export const stateOf = (post: Post): PostState => (post.deleted ? { ...post, title: '', content: '' } : { ...post })
