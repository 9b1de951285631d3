import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type Database } from '@tidings/postgres'
import {
  eventually,
  serverInstalled,
  startNatsServer,
  startPostgresServer,
  startProcess,
  startRedisServer,
  TEST_DATABASE_POOL,
  testEngines,
  type ManagedProcess,
  type ThrowawayServer,
} from '@tidings/testing'
import { BOARD_QUERY_SCHEMA, COMMENT_SCHEMA, NOTIFICATION_SCHEMA } from '@tidings/board'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import { chaosTimeline } from './chaos-timeline'

/**
 * Comments written in all, the issue's figure (BOARD_CHAOS_COMMENTS changes it). On a 2-core machine the
 * writes and every fault take ~2 minutes; the read sides catch up within a minute after, applying a page of
 * comment events with a few batch lookups (`/internal/comments?ids=…`) rather than a few per comment.
 */
const COMMENTS = Number(process.env.BOARD_CHAOS_COMMENTS ?? 20_000)
const WRITERS = 16
/** How long the read sides may take to catch up once the writes stop: ~20 ms a comment, at least 3 minutes. */
const CATCH_UP_MS = Math.max(180_000, COMMENTS * 20)
const MEMBERS = 20
const POSTS = 40

const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[board] SKIPPED the board chaos test: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')
const installed = serverInstalled('nats-server') && serverInstalled('redis-server') && serverInstalled('pg_config')

interface Listening {
  service?: string
  port?: number
  pid?: number
}

/**
 * `npm run start:cluster` under faults, on throwaway servers: comments are written through the
 * entry point while the broker (NATS) is killed and restarted twice, board.notification's own PostgreSQL
 * is killed and restarted once, and a board.query instance is SIGKILLed three times (the cluster starts it
 * again each time). Afterwards every post document and every notification count must be exact.
 */
describe.runIf(engine !== undefined && installed)(`the board cluster under faults: ${COMMENTS} comments`, () => {
  const servers: ThrowawayServer[] = []
  let cluster: ManagedProcess | undefined
  const { mark, print } = chaosTimeline()

  afterAll(async () => {
    await cluster?.kill('SIGTERM')
    for (const server of servers) await server.cleanup()
    print('board')
  })

  it('converges with every count exact after broker restarts, a database restart and killed read-side instances', async () => {
    const [nats, redis, notificationDb] = await Promise.all([startNatsServer(), startRedisServer(), startPostgresServer()])
    servers.push(nats, redis, notificationDb)
    const database = await engine!.freshDatabase()
    cluster = startProcess('cluster', new URL('./cluster-main.ts', import.meta.url), {
      DATABASE_URL: database.url,
      BOARD_NOTIFICATION_DATABASE_URL: notificationDb.url,
      PORT: '0',
      TRANSPORT: 'nats',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      BOARD_QUERY_INSTANCES: '2',
      TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
      TIDINGS_APPS: 'board',
      LOG_LEVEL: 'info',
    })
    const ready = JSON.parse(await cluster.waitForLine((l) => l.includes('cluster listening'), 90_000)) as { port: number }
    const gateway = new BoardClient(`http://127.0.0.1:${ready.port}`)
    mark('cluster up')

    const members: Member[] = []
    for (let i = 0; i < MEMBERS; i++) members.push(await gateway.newMember(`chaos${i}`))
    const posts: Array<{ postId: string; writer: Member }> = []
    for (let i = 0; i < POSTS; i++) {
      const writer = members[i % MEMBERS]!
      const created = await gateway.createPost(writer, { title: `Chaos ${i}`, content: 'under faults' })
      expect(created.status).toBe(201)
      posts.push({ postId: created.body.postId, writer })
    }
    mark(`${MEMBERS} members and ${POSTS} posts`)

    // What the command side answered.
    const perPost = new Map<string, number>()
    const perRecipient = new Map<string, number>()
    const failures: string[] = []
    let written = 0
    let started = 0
    const writer = async (w: number): Promise<void> => {
      while (started < COMMENTS && failures.length === 0) {
        const n = started++
        const author = members[(n * 7 + w) % MEMBERS]!
        const post = posts[n % POSTS]!
        const answer = await gateway.addComment(author, post.postId, `comment ${n}`).catch((error: unknown) => ({ status: 0, body: String(error) }))
        if (answer.status !== 201) {
          failures.push(`comment ${n}: ${answer.status} ${JSON.stringify(answer.body)}`)
          return
        }
        perPost.set(post.postId, (perPost.get(post.postId) ?? 0) + 1)
        if (author.memberId !== post.writer.memberId) perRecipient.set(post.writer.memberId, (perRecipient.get(post.writer.memberId) ?? 0) + 1)
        written++
      }
    }
    const writing = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))

    const at = (share: number, what: string) =>
      eventually(() => written, (n) => n >= COMMENTS * share || failures.length > 0, { timeoutMs: 300_000, what: `${what} (${share * COMMENTS} comments)` })
    const queryInstances = (): Listening[] => {
      const latest = new Map<number, Listening>()
      for (const line of cluster!.lines) {
        if (!line.includes('listening on')) continue
        const parsed = JSON.parse(line) as Listening
        if (parsed.service === 'board.query' && parsed.port !== undefined) latest.set(parsed.port, parsed)
      }
      return [...latest.values()]
    }
    const killQuery = async (which: number): Promise<void> => {
      const victim = queryInstances()[which]!
      const starts = () => cluster!.lines.filter((l) => l.includes('listening on') && l.includes(`"port":${victim.port}`)).length
      const before = starts()
      process.kill(victim.pid!, 'SIGKILL')
      mark(`board.query on ${victim.port} SIGKILLed at ${written} comments`)
      await eventually(starts, (n) => n > before, { timeoutMs: 60_000, what: 'the killed board.query to be started again' })
      mark(`board.query on ${victim.port} started again at ${written} comments`)
    }
    // A restart, as the issue has it: NATS 2.9 acknowledges a message before its file store has written it
    // out, so a SIGKILLed server can come back without its last acknowledged messages (see the notes).
    const restartBroker = async (): Promise<void> => {
      await nats.stop()
      mark(`NATS stopped at ${written} comments`)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      await nats.restart()
      mark(`NATS up again at ${written} comments`)
    }

    await at(0.1, 'the first comments')
    await killQuery(0)
    await at(0.2, 'comments before the broker restart')
    await restartBroker()
    await at(0.35, 'comments before the second kill')
    await killQuery(1)
    await at(0.5, 'comments before the database restart')
    await notificationDb.kill()
    mark(`board.notification's PostgreSQL killed at ${written} comments`)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    await notificationDb.restart()
    mark(`board.notification's PostgreSQL up again at ${written} comments`)
    await at(0.65, 'comments before the second broker restart')
    await restartBroker()
    await at(0.8, 'comments before the third kill')
    await killQuery(0)
    await writing
    expect(failures).toEqual([])
    expect(written).toBe(COMMENTS)
    mark(`${written} comments written`)

    // Every document converges to exactly what was written, on every board.query instance.
    const instances = queryInstances().map((q) => new BoardClient(`http://127.0.0.1:${q.port}`))
    expect(instances).toHaveLength(2)
    const counts = async (client: BoardClient) => Object.fromEntries(await Promise.all(posts.map(async ({ postId }) => [postId, (await client.document(postId)).body.commentCount] as const)))
    const expected = Object.fromEntries(posts.map(({ postId }) => [postId, perPost.get(postId) ?? 0]))
    for (const client of instances) {
      await eventually(() => counts(client), (c) => JSON.stringify(c) === JSON.stringify(expected), { timeoutMs: CATCH_UP_MS, what: `every document on ${client.baseUrl}` }).catch(async (error: unknown) => {
        const stored = await storedCounts(database.db)
        const wrong = posts.filter(({ postId }) => stored[postId] !== expected[postId]).map(({ postId }) => `${postId}: stored ${stored[postId]}, written ${expected[postId]}`)
        console.log(`[board] chaos, where the read side stands:\n${await whereItStands(database.db)}\nstored documents that differ: ${wrong.join('; ') || 'none'}\nserved by ${client.baseUrl}: ${JSON.stringify(await counts(client))}\nexpected: ${JSON.stringify(expected)}`)
        throw error
      })
    }
    mark('every document exact on both board.query instances')
    const doc = await instances[0]!.document(posts[0]!.postId)
    expect(new Set(doc.body.comments.map((c) => c.commentId)).size).toBe(perPost.get(posts[0]!.postId))

    // Every notification, exactly once, in board.notification's own database.
    const notifications = await openDatabase({ databaseUrl: notificationDb.url })
    try {
      const perRecipientStored = async () =>
        Object.fromEntries(
          (await notifications.query<{ recipient_id: string; n: string }>(`SELECT recipient_id::text, count(*)::text AS n FROM ${NOTIFICATION_SCHEMA}.notifications GROUP BY recipient_id`)).rows.map((r) => [r.recipient_id, Number(r.n)]),
        )
      const wanted = Object.fromEntries([...perRecipient].sort())
      await eventually(perRecipientStored, (stored) => JSON.stringify(Object.fromEntries(Object.entries(stored).sort())) === JSON.stringify(wanted), { timeoutMs: CATCH_UP_MS, what: 'every notification' })
      mark(`notifications exact: ${[...perRecipient.values()].reduce((a, b) => a + b, 0)}`)
      expect((await notifications.query(`SELECT 1 FROM ${NOTIFICATION_SCHEMA}.dead_letters`)).rows).toEqual([])
    } finally {
      await notifications.close()
    }
    expect((await database.db.query(`SELECT 1 FROM ${BOARD_QUERY_SCHEMA}.dead_letters`)).rows).toEqual([])
  }, 600_000 + COMMENTS * 60)
})

/** For a failure: the comment relay, the outbox head, and board.query's checkpoints and leases. */
async function whereItStands(db: Database): Promise<string> {
  const rows = async (sql: string) => JSON.stringify((await db.query(sql)).rows)
  return [
    `relay: ${await rows(`SELECT relay, position, published_at FROM ${COMMENT_SCHEMA}.relay_progress`)}`,
    `outbox head: ${await rows(`SELECT feed_xid::text || '-' || seq::text AS position, count(*) OVER () AS events FROM ${COMMENT_SCHEMA}.outbox ORDER BY feed_xid DESC, seq DESC LIMIT 1`)}`,
    `checkpoints: ${await rows(`SELECT source, position, source_position, updated_at FROM ${BOARD_QUERY_SCHEMA}.checkpoints ORDER BY source`)}`,
    `leases: ${await rows(`SELECT name, owner, expires_at > clock_timestamp() AS live FROM ${BOARD_QUERY_SCHEMA}.leases ORDER BY name`)}`,
  ].join('\n')
}

/** Comments per post in the stored documents themselves (not what an instance serves). */
async function storedCounts(db: Database): Promise<Record<string, number>> {
  const result = await db.query<{ id: string; n: string }>(
    `SELECT id, (SELECT count(*) FROM jsonb_each(body) WHERE key LIKE 'comment:%' AND value <> 'null'::jsonb)::text AS n FROM ${BOARD_QUERY_SCHEMA}.documents WHERE body ? 'post'`,
  )
  return Object.fromEntries(result.rows.map((r) => [r.id, Number(r.n)]))
}
