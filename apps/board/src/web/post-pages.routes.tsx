import { Hono } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ApiProblem, PostDocument, PostList } from './api-types'
import { ErrorPage, headingOf } from './error.page'
import { formFields, INVALID_FORM } from './form-fields'
import { formGuard } from './form-guard'
import { GUEST_LIST_LIMIT } from './guest-pages.fast-path'
import { PostFormPage } from './post-form.page'
import { PostListPage } from './post-list.page'
import { PostPage, type PostPageErrors } from './post.page'
import { type WebDeps, type WebRequest, webOf } from './web-request'

/** Ids go into API paths: only a UUID may, so that `%2F..` in a page URL cannot reach another API route. */
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isId = (value: unknown): value is string => typeof value === 'string' && ID.test(value)

const status = (n: number) => n as ContentfulStatusCode

/** The list, a post with its comments, and the forms that write posts and comments. */
export function postPages(deps: WebDeps): Hono {
  const routes = new Hono()
  const guard = formGuard()

  routes.get('/', async (c) => {
    const web = webOf(c, deps)
    const before = c.req.query('before')
    const query = `limit=${GUEST_LIST_LIMIT}${before ? `&cursor=${encodeURIComponent(before)}` : ''}`
    const held = before ? undefined : web.heldGuestPage()
    const [list] = await Promise.all([web.api.call<PostList>('GET', `/api/board/posts?${query}`, { fresh: true, ifNoneMatch: held?.source }), web.viewer()])
    if (!list.ok) return refused(web, list.problem)
    if (before) return web.render({ title: 'Older posts' }, <PostListPage list={list.body} older />)
    return web.renderForGuests(list, held, () => ({ title: 'Posts', section: 'home', body: <PostListPage list={list.body} older={false} /> }))
  })

  routes.get('/posts/new', async (c) => {
    const web = webOf(c, deps)
    await web.member()
    return web.render({ title: 'New post', section: 'new' }, <PostFormPage values={{ title: '', content: '' }} />)
  })

  routes.post('/posts', guard, async (c) => {
    const web = webOf(c, deps)
    const fields = await formFields(c, ['title', 'content'])
    if (!fields) return web.render({ title: 'New post', section: 'new' }, <PostFormPage values={{ title: '', content: '' }} problem={INVALID_FORM} />, 400)
    const created = await web.api.call<{ postId: string }>('POST', '/api/posts', { auth: 'required', body: fields })
    if (created.ok) return c.redirect(`/posts/${created.body.postId}`, 303)
    return web.render({ title: 'New post', section: 'new' }, <PostFormPage values={fields} problem={created.problem} />, status(created.status))
  })

  routes.get('/posts/:postId', async (c) => {
    const web = webOf(c, deps)
    return postPage(web, c.req.param('postId'))
  })

  routes.get('/posts/:postId/edit', async (c) => {
    const web = webOf(c, deps)
    const postId = c.req.param('postId')
    const viewer = await web.member()
    const post = await documentOf(web, postId)
    if (!post.ok) return refused(web, post.problem)
    if (post.body.writer.memberId !== viewer.memberId) return refused(web, { status: 403, code: 'FORBIDDEN', detail: 'Only the writer of a post may edit it.' })
    return web.render({ title: 'Edit post' }, <PostFormPage postId={postId} values={post.body} />)
  })

  routes.post('/posts/:postId/edit', guard, async (c) => {
    const web = webOf(c, deps)
    const postId = c.req.param('postId')
    if (!isId(postId)) return notFound(web)
    const fields = await formFields(c, ['title', 'content'])
    if (!fields) return web.render({ title: 'Edit post' }, <PostFormPage postId={postId} values={{ title: '', content: '' }} problem={INVALID_FORM} />, 400)
    const edited = await web.api.call('PATCH', `/api/posts/${postId}`, { auth: 'required', body: fields })
    if (edited.ok) return c.redirect(`/posts/${postId}`, 303)
    return web.render({ title: 'Edit post' }, <PostFormPage postId={postId} values={fields} problem={edited.problem} />, status(edited.status))
  })

  routes.post('/posts/:postId/delete', guard, async (c) => {
    const web = webOf(c, deps)
    const postId = c.req.param('postId')
    if (!isId(postId)) return notFound(web)
    const deleted = await web.api.call('DELETE', `/api/posts/${postId}`, { auth: 'required' })
    if (deleted.ok) return c.redirect('/', 303)
    return postPage(web, postId, { post: deleted.problem }, deleted.status)
  })

  routes.post('/posts/:postId/comments', guard, async (c) => {
    const web = webOf(c, deps)
    const postId = c.req.param('postId')
    if (!isId(postId)) return notFound(web)
    const fields = await formFields(c, ['content'])
    if (!fields) return postPage(web, postId, { newComment: { problem: INVALID_FORM, content: '' } }, 400)
    const added = await web.api.call<{ commentId: string }>('POST', `/api/posts/${postId}/comments`, { auth: 'required', body: fields })
    if (added.ok) return c.redirect(`/posts/${postId}#comment-${added.body.commentId}`, 303)
    return postPage(web, postId, { newComment: { problem: added.problem, content: fields.content } }, added.status)
  })

  routes.post('/comments/:commentId/edit', guard, async (c) => {
    const web = webOf(c, deps)
    const commentId = c.req.param('commentId')
    const fields = await formFields(c, ['content', 'postId'])
    if (!fields || !isId(fields.postId) || !isId(commentId)) return invalidForm(web)
    const edited = await web.api.call('PATCH', `/api/comments/${commentId}`, { auth: 'required', body: { content: fields.content } })
    if (edited.ok) return c.redirect(`/posts/${fields.postId}#comment-${commentId}`, 303)
    return postPage(web, fields.postId, { comment: { commentId, problem: edited.problem, content: fields.content } }, edited.status)
  })

  routes.post('/comments/:commentId/delete', guard, async (c) => {
    const web = webOf(c, deps)
    const commentId = c.req.param('commentId')
    const fields = await formFields(c, ['postId'])
    if (!fields || !isId(fields.postId) || !isId(commentId)) return invalidForm(web)
    const deleted = await web.api.call('DELETE', `/api/comments/${commentId}`, { auth: 'required' })
    if (deleted.ok) return c.redirect(`/posts/${fields.postId}#comments`, 303)
    return postPage(web, fields.postId, { comment: { commentId, problem: deleted.problem } }, deleted.status)
  })

  return routes
}

/** The post page, perhaps with a refused form's message and input, answered with the API's status. */
async function postPage(web: WebRequest, postId: string, errors: PostPageErrors = {}, code = 200): Promise<Response> {
  const plain = code !== 200 || Object.keys(errors).length > 0
  const held = plain ? undefined : web.heldGuestPage()
  const [post, viewer] = await Promise.all([documentOf(web, postId, held?.source), web.viewer()])
  if (!post.ok) return refused(web, post.problem)
  const page = () => <PostPage post={post.body} viewer={viewer} errors={errors} />
  if (plain) return web.render({ title: post.body.title }, page(), status(code))
  return web.renderForGuests(post, held, () => ({ title: post.body.title, body: page() }))
}

/** The post as the read side has it, waiting (briefly) for this browser's own writes to reach it; a 304 if it is still `held`. */
async function documentOf(web: WebRequest, postId: string, held?: string) {
  if (!isId(postId)) return { ok: false as const, status: 404, problem: { status: 404, code: 'POST_NOT_FOUND', detail: 'There is no such post.' } }
  return web.api.call<PostDocument>('GET', `/api/board/posts/${postId}`, { fresh: true, ifNoneMatch: held })
}

function refused(web: WebRequest, problem: ApiProblem): Promise<Response> {
  const message = problem.status === 404 ? 'There is no such post. It may have been deleted.' : problem.detail
  return web.render({ title: headingOf(problem.status) }, <ErrorPage heading={headingOf(problem.status)} message={message} />, status(problem.status))
}

function notFound(web: WebRequest): Promise<Response> {
  return refused(web, { status: 404, code: 'NOT_FOUND', detail: 'Not found' })
}

function invalidForm(web: WebRequest): Promise<Response> {
  return web.render({ title: headingOf(400) }, <ErrorPage heading={headingOf(400)} message={INVALID_FORM} />, 400)
}
