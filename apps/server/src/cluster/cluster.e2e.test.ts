import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '@tidings/postgres'
import { redisDocuments } from '@tidings/redis'
import { eventually, serverInstalled, startNatsServer, startProcess, startRedisServer, TEST_CONSISTENCY_TIMEOUT_MS, TEST_DATABASE_POOL, testEngines, type ManagedProcess, type ThrowawayServer } from '@tidings/testing'
import { BOARD_QUERY_SCHEMA, POST_DOCUMENTS_COLLECTION } from '@tidings/board'
import { BoardClient, type Member } from '@tidings/board/test-kit'

/**
 * `npm run start:cluster` as a user runs it: every board service its own process (board.query twice) on
 * PostgreSQL, events over NATS, cache evictions over Redis (both throwaway servers), one entry point.
 */
const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[board] SKIPPED the board cluster: it needs PostgreSQL (set TEST_DATABASE_URL or start a server)')
const brokersInstalled = serverInstalled('nats-server') && serverInstalled('redis-server')

const script = new URL('./cluster-main.ts', import.meta.url)

interface ServiceLine {
  service?: string
  port?: number
  pid?: number
  msg?: string
}

for (const documents of ['postgres', 'redis'] as const)
describe.runIf(engine !== undefined && brokersInstalled)(`the board cluster (npm run start:cluster) over NATS, evictions over Redis, documents in ${documents}`, () => {
  const servers: ThrowawayServer[] = []
  let db: Database
  let redisUrl: string
  let cluster: ManagedProcess
  let gateway: BoardClient
  /** The two board.query instances, each asked directly. */
  let queries: BoardClient[]
  let ann: Member
  let bob: Member

  /** Where each service instance listens, and its process id, from the lines it logged (last start wins). */
  const instancesOf = (service: string): ServiceLine[] => {
    const byPort = new Map<number, ServiceLine>()
    for (const line of cluster.lines) {
      if (!line.includes('listening on')) continue
      const parsed = JSON.parse(line) as ServiceLine
      if (parsed.service === service && parsed.port !== undefined) byPort.set(parsed.port, parsed)
    }
    return [...byPort.values()]
  }

  beforeAll(async () => {
    const [nats, redis] = await Promise.all([startNatsServer(), startRedisServer()])
    servers.push(nats, redis)
    const database = await engine!.freshDatabase()
    db = database.db
    redisUrl = redis.url
    cluster = startProcess('cluster', script, {
      DATABASE_URL: database.url,
      PORT: '0',
      TRANSPORT: 'nats',
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      ...(documents === 'redis' ? { DOCUMENTS: 'redis' } : {}),
      BOARD_QUERY_INSTANCES: '2',
      // The tests check that reads wait for their writes, not how long a wait may take on a loaded machine.
      TIDINGS_CONSISTENCY_TIMEOUT_MS: String(TEST_CONSISTENCY_TIMEOUT_MS),
      TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
      TIDINGS_APPS: 'board',
      LOG_LEVEL: 'info',
    })
    const ready = JSON.parse(await cluster.waitForLine((l) => l.includes('cluster listening'), 90_000)) as { port: number }
    gateway = new BoardClient(`http://127.0.0.1:${ready.port}`)
    // Each child's own "listening on" line is relayed through the cluster's output and may come after the
    // cluster's "listening": wait for both instances' lines, then check there are exactly two.
    const instances = await eventually(async () => instancesOf('board.query'), (found) => found.length >= 2, { what: "both board.query instances' listening lines" })
    queries = instances.map((q) => new BoardClient(`http://127.0.0.1:${q.port}`))
    expect(queries).toHaveLength(2)
    ;[ann, bob] = await Promise.all([gateway.newMember('ann'), gateway.newMember('bob')])
  }, 120_000)

  afterAll(async () => {
    await cluster?.kill('SIGTERM')
    for (const server of servers) await server.cleanup()
  })

  it('answers the API and the pages through one entry point, reads seeing their writes', async () => {
    const post = await gateway.createPost(ann, { title: 'Clustered', content: 'Over NATS' })
    expect(post.status).toBe(201)
    const comment = await gateway.addComment(bob, post.body.postId, 'Nice one')
    expect(comment.status).toBe(201)
    const doc = await gateway.document(post.body.postId, comment.position)
    expect(doc.status).toBe(200)
    expect(doc.headers.get('tidings-stale')).toBeNull()
    expect(doc.body).toMatchObject({ title: 'Clustered', commentCount: 1, comments: [{ content: 'Nice one', author: { memberId: bob.memberId } }] })

    const notifications = await gateway.call<{ items: Array<{ commentId: string }> }>('GET', '/api/notifications', { token: ann.token, headers: { 'Tidings-Position': comment.position! } })
    expect(notifications.headers.get('tidings-stale')).toBeNull()
    expect(notifications.body.items.map((n) => n.commentId)).toContain(comment.body.commentId)

    const page = await fetch(`${gateway.baseUrl}/posts/${post.body.postId}`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('Nice one')
    expect(await gateway.call('GET', '/api/nothing-here')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } })

    // The document is where DOCUMENTS says, and only there.
    const inRows = (await db.query(`SELECT 1 FROM ${BOARD_QUERY_SCHEMA}.documents WHERE id = $1`, [post.body.postId])).rows.length > 0
    const redis = await redisDocuments({ url: redisUrl })
    try {
      const inRedis = (await redis.collection(POST_DOCUMENTS_COLLECTION).get(post.body.postId)) !== undefined
      expect({ inRows, inRedis }).toEqual(documents === 'redis' ? { inRows: false, inRedis: true } : { inRows: true, inRedis: false })
    } finally {
      await redis.close()
    }
  })

  it('never lets either board.query instance serve the older version of an edited post to a read with the edit token', async () => {
    const { body: post } = await gateway.createPost(ann, { title: 'v0', content: 'edited often' })
    await eventually(() => Promise.all(queries.map((q) => q.document(post.postId))), (answers) => answers.every((a) => a.status === 200), { what: 'the post on both instances' })
    for (let v = 1; v <= 25; v++) {
      // Both instances have the current version hot before the edit.
      for (const q of queries) expect((await q.document(post.postId)).status).toBe(200)
      const edited = await gateway.call('PATCH', `/api/posts/${post.postId}`, { token: ann.token, body: { title: `v${v}` } })
      expect(edited.status).toBe(200)
      for (const q of queries) {
        const read = await q.document(post.postId, edited.position)
        expect(read.headers.get('tidings-stale')).toBeNull()
        expect(read.body.title, `instance ${q.baseUrl}, edit ${v}`).toBe(`v${v}`)
      }
    }
    // Without a token, both instances come to serve the last version too: the evictions reached them.
    await eventually(() => Promise.all(queries.map((q) => q.document(post.postId))), (answers) => answers.every((a) => a.body.title === 'v25'), { what: 'both instances to drop v24' })
  }, 60_000)

  it('keeps answering reads when a board.query instance is SIGKILLed, and starts it again', async () => {
    const { body: post } = await gateway.createPost(bob, { title: 'Survivor', content: '…' })
    await eventually(() => gateway.document(post.postId), (a) => a.status === 200, { what: 'the post' })
    const [victim] = instancesOf('board.query')
    process.kill(victim!.pid!, 'SIGKILL')
    // Every read through the entry point is answered, by the other instance while this one is down.
    for (let i = 0; i < 20; i++) expect((await gateway.document(post.postId)).status).toBe(200)
    await eventually(
      () => cluster.lines.filter((l) => l.includes('listening on') && l.includes('board.query') && l.includes(`"port":${victim!.port}`)).length,
      (starts) => starts === 2,
      { timeoutMs: 30_000, what: 'the killed instance to be started again on its port' },
    )
    const comment = await gateway.addComment(ann, post.postId, 'after the restart')
    const asked = performance.now()
    const read = await new BoardClient(`http://127.0.0.1:${victim!.port}`).document(post.postId, comment.position)
    console.log(`[board] cluster (${documents}): the restarted board.query answered a token read in ${Math.round(performance.now() - asked)} ms`)
    expect(read.headers.get('tidings-stale')).toBeNull()
    expect(read.body.comments.map((c) => c.content)).toEqual(['after the restart'])
  }, 60_000)

  it('takes its services down with it when the cluster process is SIGKILLed', async () => {
    const pids = cluster.lines.filter((l) => l.includes('listening on') && /"service":"(board|identity)\./.test(l)).map((l) => (JSON.parse(l) as ServiceLine).pid!)
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    expect(pids.filter(alive).length).toBeGreaterThanOrEqual(6)
    await cluster.kill('SIGKILL')
    await eventually(async () => pids.filter(alive), (left) => left.length === 0, { timeoutMs: 30_000, what: 'every service process to exit' })
  })
})
