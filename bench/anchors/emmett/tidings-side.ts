import { PgDatabase } from '@tidings/postgres'
import { composeBoard } from '@tidings/board'
import { inParallel, range } from '../../src/lib/board'
import { COMMENT, POST_CONTENT, POST_TITLE, POSTS, serveSide, WRITERS, type Side } from './side'

/**
 * The Tidings side: the board itself (`composeBoard`, as `npm start` composes it) on a PostgreSQL database
 * of its own with a pool of 16 connections, as figure 9 runs it. A comment goes through the board's own
 * command, its route `POST /api/posts/:postId/comments` called in process (`app.request`, the way the
 * board's pages call its API: no socket, but the member's token, validation, the command's unit of work —
 * the post looked up, the comment row and its outbox row — and the 201 with its JSON). The consumer is the
 * board's post-document projection; the notifications read side is stopped, so that both sides keep one
 * document per post and nothing else.
 *
 * Environment: BENCH_TIDINGS_URL (a database of its own), BENCH_TIDINGS_POOL.
 */
const db = new PgDatabase({ connectionString: process.env.BENCH_TIDINGS_URL!, maxConnections: Number(process.env.BENCH_TIDINGS_POOL ?? WRITERS), applicationName: 'tidings-bench-anchor' })

async function open(): Promise<Side> {
  const board = await composeBoard({ db })
  await board.start()
  await Promise.all(board.services.notification.subscriptions.map((s) => s.stop()))

  const call = async <T>(method: string, path: string, body: unknown, token?: string): Promise<T> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }
    const answer = await board.http.request(path, { method, headers, body: JSON.stringify(body) })
    const text = await answer.text()
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${text}`)
    return JSON.parse(text) as T
  }

  const tokens = await inParallel(4, range(WRITERS), async (m) => {
    const email = `anchor${m}@example.com`
    await call('POST', '/api/members', { email, password: 'correct horse', nickname: `anchor${m}` })
    return (await call<{ token: string }>('POST', '/api/auth/login', { email, password: 'correct horse' })).token
  })
  const postIds = await inParallel(WRITERS, range(POSTS), async (p) => {
    const created = await call<{ postId: string }>('POST', '/api/posts', { title: POST_TITLE(p), content: POST_CONTENT }, tokens[p % tokens.length])
    return created.postId
  })

  const documents = board.services.query.subscriptions[0]!
  const feeds = { ...board.services.identity.feeds, ...board.services.post.feeds, ...board.services.comment.feeds }
  return {
    postIds,
    comment: async (writer, postId) => {
      await call('POST', `/api/posts/${postId}/comments`, { content: COMMENT }, tokens[writer])
    },
    behind: async () => Object.values(await documents.lag()).reduce((n, lag) => n + lag.events, 0),
    caughtUp: async () => {
      const done = await Promise.all(documents.sources.map(async (source) => documents.hasProcessed(source, await feeds[source]!.head())))
      return done.every(Boolean)
    },
    counters: () => ({}),
    close: async () => {
      await board.stop()
      await db.close()
    },
  }
}

serveSide(open)
