import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { comparePositions, parseToken, partitionSource, START, type Position } from '@tidings/core'
import { listCheckpoints, lowestSourcePosition, readCheckpoint, readSourceCheckpoint, type Database } from '@tidings/postgres'
import { eventually, seededRandom, startProcess, TEST_DATABASE_POOL, testEngines, type ManagedProcess, type ThrowawayServer } from '@tidings/testing'
import { BOARD_QUERY_SCHEMA, COMMENT_NOTIFICATIONS_CONSUMER, COMMENT_SOURCE, NOTIFICATION_SCHEMA, POST_DOCUMENT_CONSUMER, POST_SOURCE } from '@tidings/board'
import { BoardClient, type Answer, type Member } from '@tidings/board/test-kit'
import { MEMBER_SOURCE } from '@tidings/identity'
import { installedTestBrokers, type TestBroker } from '../test-kit/test-brokers'

/**
 * The five board services as five processes on one PostgreSQL database, talking over HTTP only (and over
 * each broker: events through a throwaway NATS or Redis server, the latest state still over HTTP). Comments
 * are written continuously while board.query is SIGKILLed twice (and board.notification once); after the
 * writes stop, both read sides must hold exactly what the command side answered: nothing lost, nothing
 * doubled.
 */
const engine = (await testEngines()).find((e) => e.name === 'postgres')
if (!engine) console.warn('[board] SKIPPED the board services as separate processes: they need PostgreSQL (set TEST_DATABASE_URL or start a server)')

const script = new URL('../service-main.ts', import.meta.url)
const WRITERS = 4
/** Partitions per source when the events go over a broker. */
const PARTITIONS = 4
/** Each writer's pause between commands, so that the stream is spread over the kills. */
const PACE_MS = 20
/** Commands written while a killed service is down, at least. */
const WHILE_DOWN = 60
/** Commands written per phase (five phases: up, down, up, down, up); 88% of them add a comment. */
const PHASE = 140
/** Comments written in all, at least (about 615 expected: 88% of the commands add one). */
const MIN_COMMENTS = 560

interface Running {
  process: ManagedProcess
  url: string
  client: BoardClient
}

interface Recorded {
  commentId: string
  postId: string
  authorId: string
  content: string
  edited: boolean
  deleted: boolean
}

interface Kill {
  service: string
  /** How far the consumer had processed the comment feed when this instance started, and when it was killed. */
  processedBefore: Position
  processedAtKill: Position
  writtenAtKill: number
  /** Commands written from the kill until the new process was up. */
  writtenWhileDown?: number
}

interface NotificationItem {
  notificationId: string
  postId: string
  commentId: string
  actor: { memberId: string; nickname: string | null }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Over the services' feeds (HTTP), and over each broker the board can run on. */
const variants: Array<TestBroker | undefined> = [undefined, ...installedTestBrokers()]
for (const broker of variants) {
  const over = broker ? `, events over ${broker.transport}` : ''
  describe.runIf(engine !== undefined)(`the board as five processes on PostgreSQL${over}, read sides SIGKILLed mid-stream`, () => {
    const processes: ManagedProcess[] = []
    let db: Database
    let databaseUrl: string
    const urls: Record<string, string> = {}
    let brokerServer: (ThrowawayServer & { url: string }) | undefined
    let brokerEnv: Record<string, string> = {}
    let memberApi: BoardClient
    let postApi: BoardClient
    let commentApi: BoardClient
    let query: Running
    let notification: Running

    // What the command side answered, and nothing else.
    const members = new Map<string, Member>()
    const posts = new Map<string, { writerId: string; title: string; content: string }>()
    const comments = new Map<string, Recorded>()
    /** The furthest consistency token each producing service handed out. */
    const latest = new Map<string, string>()
    const t0 = Date.now()
    const timings: string[] = []
    const mark = (what: string) => timings.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`)

    afterAll(async () => {
      // What the services logged as errors (a 500 says no more to the client), for a failing run's reader.
      const errors = processes.flatMap((p) => p.lines.filter((l) => l.includes('"level":50')).map((l) => `${p.name}: ${l.slice(0, 2_000)}`))
      if (errors.length > 0) console.log(`[board] errors the services logged${over}:\n  ${errors.slice(0, 10).join('\n  ')}`)
      await Promise.all(processes.map((p) => p.kill('SIGKILL')))
      await brokerServer?.cleanup()
      if (timings.length > 0) console.log(`[board] services as processes${over}:\n  ${timings.join('\n  ')}`)
    })

    async function start(service: string): Promise<Running> {
      const p = startProcess(service, script, {
        TIDINGS_SERVICE: service,
        TIDINGS_SERVICE_TOKEN: 'services-as-processes-credential',
        PORT: '0',
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: 'info',
        TIDINGS_PARTITIONS: String(PARTITIONS),
        TIDINGS_DATABASE_POOL: String(TEST_DATABASE_POOL),
        ...brokerEnv,
        ...urls,
      })
      processes.push(p)
      const line = await p.waitForLine((l) => l.includes('listening on'), 45_000)
      const { port } = JSON.parse(line) as { port: number }
      const url = `http://127.0.0.1:${port}`
      mark(`${service} listening (pid ${p.child.pid})`)
      return { process: p, url, client: new BoardClient(url) }
    }

    function note<T>(answer: Answer<T>, expected: number, what: string): Answer<T> {
      if (answer.status !== expected) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`)
      if (answer.position) {
        const token = parseToken(answer.position)
        const before = latest.get(token.source)
        if (!before || comparePositions(parseToken(before).position, token.position) < 0) latest.set(token.source, answer.position)
      }
      return answer
    }

    /** How far a consumer has applied a feed, in the producer's positions (over a broker: every partition that far). */
    const processed = async (schema: string, consumer: string, source: string): Promise<Position> => {
      if (!broker) return readCheckpoint(db, schema, consumer, source)
      const partitions = Array.from({ length: PARTITIONS }, (_, p) => readSourceCheckpoint(db, schema, consumer, partitionSource(source, p)))
      return lowestSourcePosition(await Promise.all(partitions))
    }
    const queryProcessed = () => processed(BOARD_QUERY_SCHEMA, POST_DOCUMENT_CONSUMER, COMMENT_SOURCE)
    const notificationProcessed = () => processed(NOTIFICATION_SCHEMA, COMMENT_NOTIFICATIONS_CONSUMER, COMMENT_SOURCE)
    const after = (a: Position, b: Position) => comparePositions(a, b) > 0
    const deadLetters = async (schema: string) => (await db.query<{ consumer: string; error: string }>(`SELECT consumer, error FROM ${schema}.dead_letters`)).rows

    /** True once a read-your-writes query with every latest token answers fresh (not `Tidings-Stale`). */
    async function fresh(client: BoardClient, path: string, sources: string[], token?: string): Promise<boolean> {
      for (const source of sources) {
        const position = latest.get(source)
        if (!position) continue
        const answer = await client.call('GET', path, { headers: { 'Tidings-Position': position }, ...(token ? { token } : {}) }).catch(() => undefined)
        if (answer?.status !== 200 || answer.headers.get('tidings-stale') !== null) return false
      }
      return true
    }

    beforeAll(async () => {
      if (broker) {
        brokerServer = await broker.start()
        brokerEnv = broker.env(brokerServer.url)
        mark(`${broker.transport} broker on ${brokerServer.url}`)
      }
      const database = await engine!.freshDatabase()
      db = database.db
      databaseUrl = database.url!
      const member = await start('identity.member')
      urls.IDENTITY_URL = member.url
      const post = await start('board.post')
      urls.BOARD_POST_URL = post.url
      const comment = await start('board.comment')
      urls.BOARD_COMMENT_URL = comment.url
      ;[query, notification] = await Promise.all([start('board.query'), start('board.notification')])
      memberApi = member.client
      postApi = post.client
      commentApi = comment.client

      for (const m of await Promise.all(Array.from({ length: 5 }, (_, i) => memberApi.newMember(`p${i}`)))) members.set(m.memberId, m)
      const writers = [...members.values()].slice(0, 3)
      for (let i = 0; i < 12; i++) {
        const writer = writers[i % writers.length]!
        const body = { title: `Post ${i}`, content: `What do you think of ${i}?` }
        const created = note(await postApi.createPost(writer, body), 201, 'create post')
        posts.set(created.body.postId, { writerId: writer.memberId, ...body })
      }
      mark('5 members and 12 posts written')
    }, 90_000)

    it('keeps every document exact while board.query is SIGKILLed twice and board.notification once, mid-stream', async () => {
      const seed = Number(process.env.BOARD_PROCESSES_SEED ?? Date.now() % 1_000_000)
      mark(`writing with BOARD_PROCESSES_SEED=${seed}`)
      const rng = seededRandom(seed)
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!
      const memberList = [...members.values()]
      const postIds = [...posts.keys()]
      const busy = new Set<string>()
      let written = 0
      let started = 0
      let allowed = 0
      let stop = false
      const failures: string[] = []

      async function command(): Promise<void> {
        const r = rng()
        const live = r < 0.88 ? [] : [...comments.values()].filter((c) => !c.deleted && !busy.has(c.commentId))
        if (live.length === 0) {
          const author = pick(memberList)
          const content = `comment ${written} by ${author.nickname} — ünïcödé ✓`
          const added = note(await commentApi.addComment(author, pick(postIds), content), 201, 'add comment')
          const { commentId, postId, content: stored } = added.body as unknown as Recorded
          comments.set(commentId, { commentId, postId, authorId: author.memberId, content: stored, edited: false, deleted: false })
          return
        }
        const target = pick(live)
        const author = members.get(target.authorId)!
        busy.add(target.commentId)
        try {
          if (r < 0.95) {
            const edited = note(
              await commentApi.call<{ content: string }>('PATCH', `/api/comments/${target.commentId}`, { token: author.token, body: { content: `${target.content} (edited ${written})` } }),
              200,
              'edit comment',
            )
            target.content = edited.body.content
            target.edited = true
          } else {
            note(await commentApi.call('DELETE', `/api/comments/${target.commentId}`, { token: author.token }), 204, 'delete comment')
            target.deleted = true
          }
        } finally {
          busy.delete(target.commentId)
        }
      }

      /** Writes while the budget lasts; the test hands out a budget per phase so the stream spans every kill. */
      async function writer(): Promise<void> {
        while (!stop && failures.length === 0) {
          if (started >= allowed) {
            await pause(10)
            continue
          }
          started++
          try {
            await command()
            written++
          } catch (error) {
            failures.push(String(error))
          }
          await pause(PACE_MS)
        }
      }

      async function changeNickname(member: Member, suffix: string): Promise<void> {
        const changed = note(await memberApi.call<{ nickname: string }>('PATCH', '/api/members/me', { token: member.token, body: { nickname: `${member.nickname}${suffix}` } }), 200, 'change nickname')
        member.nickname = changed.body.nickname
        mark(`nickname of ${member.memberId} changed to ${member.nickname}`)
      }

      const writing = Promise.all(Array.from({ length: WRITERS }, () => writer()))
      const writtenAtLeast = (n: number, what: string) => eventually(() => written, (w) => w >= n || failures.length > 0, { timeoutMs: 45_000, what })
      const allow = (n: number) => (allowed += n)
      const kills: Kill[] = []

      /** Once this instance has processed some of the stream (past `processedBefore`), SIGKILL it while commands are in flight. */
      async function kill(running: Running, progress: () => Promise<Position>, processedBefore: Position): Promise<Kill> {
        const service = running.process.name
        await eventually(progress, (p) => after(p, processedBefore), { timeoutMs: 45_000, what: `${service} (pid ${running.process.child.pid}) to process comments` })
        if (started >= allowed) {
          // The writers finished their phase first (a slow takeover): a few more commands, so the kill is mid-stream.
          allow(WRITERS)
          await eventually(() => started, (n) => n >= allowed, { what: 'writers to pick the commands up' })
        }
        const inFlight = started - written
        await running.process.kill('SIGKILL')
        const record: Kill = { service, processedBefore, processedAtKill: await progress(), writtenAtKill: written }
        kills.push(record)
        mark(`${service} SIGKILLed after ${record.writtenAtKill} commands, ${inFlight} in flight`)
        return record
      }

      /** Restarts a killed service (same environment, new process) while the writers go on, at least `n` commands meanwhile. */
      async function restart(service: string, killed: Kill[], n: number, meanwhile: () => Promise<void> = async () => {}): Promise<Running> {
        const [running] = await Promise.all([
          start(service),
          (async () => {
            await meanwhile()
            await writtenAtLeast(Math.max(...killed.map((k) => k.writtenAtKill)) + n, `commands while ${service} is down`)
          })(),
        ])
        for (const k of killed) k.writtenWhileDown = written - k.writtenAtKill
        return running
      }

      try {
        allow(PHASE)
        await writtenAtLeast(PHASE / 3, 'the first comments')
        await changeNickname(memberList[3]!, '-a')

        // First kill of board.query, with board.notification, while the writers go on. Both are restarted
        // while they write the next phase; a nickname changes while board.query is down.
        const queryKill1 = await kill(query, queryProcessed, START)
        const notificationKill = await kill(notification, notificationProcessed, START)
        allow(PHASE)
        ;[query, notification] = await Promise.all([
          restart('board.query', [queryKill1], WHILE_DOWN, () => changeNickname(memberList[4]!, '-b')),
          restart('board.notification', [notificationKill], WHILE_DOWN),
        ])

        // The new board.query takes the lease over once the dead one's expires, works through some of the
        // backlog and is killed again in the middle of it.
        allow(PHASE)
        const queryKill2 = await kill(query, queryProcessed, queryKill1.processedAtKill)
        allow(PHASE)
        query = await restart('board.query', [queryKill2], WHILE_DOWN, () => changeNickname(memberList[0]!, '-c'))

        // The third one must process while the stream still runs; then the writers finish their budget.
        allow(PHASE)
        await eventually(queryProcessed, (p) => after(p, queryKill2.processedAtKill), { timeoutMs: 45_000, what: 'the restarted board.query to process comments' })
        await writtenAtLeast(allowed, 'the whole budget of commands')
      } finally {
        stop = true
        await writing
      }
      mark(`writers stopped after ${written} commands`)
      expect(failures).toEqual([])

      // Caught up: a read with the latest token of every feed is answered fresh.
      await eventually(() => fresh(query.client, '/api/board/posts?limit=1', [MEMBER_SOURCE, POST_SOURCE, COMMENT_SOURCE]), Boolean, {
        timeoutMs: 60_000,
        what: 'board.query to catch up with every feed',
      })
      mark('board.query caught up')

      const finalComments = parseToken(latest.get(COMMENT_SOURCE)!).position
      for (const kill of kills) {
        // Each instance processed some of the stream and not all of it, and the writers went on while it was down.
        expect(after(kill.processedAtKill, kill.processedBefore)).toBe(true)
        expect(comparePositions(kill.processedAtKill, finalComments)).toBeLessThan(0)
        expect(kill.writtenWhileDown).toBeGreaterThanOrEqual(WHILE_DOWN)
      }
      expect(kills.map((k) => k.service).sort()).toEqual(['board.notification', 'board.query', 'board.query'])

      const nickname = (memberId: string) => members.get(memberId)!.nickname
      let live = 0
      for (const [postId, post] of posts) {
        const doc = await query.client.document(postId)
        expect(doc.status).toBe(200)
        const expected = [...comments.values()]
          .filter((c) => c.postId === postId && !c.deleted)
          .map((c) => ({ commentId: c.commentId, content: c.content, author: { memberId: c.authorId, nickname: nickname(c.authorId) }, edited: c.edited }))
          .sort((a, b) => a.commentId.localeCompare(b.commentId))
        const actual = doc.body.comments
          .map((c) => ({ commentId: c.commentId, content: c.content, author: c.author, edited: c.editedAt !== null }))
          .sort((a, b) => a.commentId.localeCompare(b.commentId))
        expect(actual, `comments of post ${postId}`).toEqual(expected)
        expect(doc.body.commentCount).toBe(expected.length)
        expect(doc.body).toMatchObject({ postId, title: post.title, content: post.content, writer: { memberId: post.writerId, nickname: nickname(post.writerId) } })
        const order = doc.body.comments.map((c) => `${c.createdAt} ${c.commentId}`)
        expect(order).toEqual([...order].sort())
        live += expected.length
      }
      const list = await query.client.call<{ items: Array<{ postId: string; commentCount: number }> }>('GET', '/api/board/posts?limit=100')
      expect(Object.fromEntries(list.body.items.map((i) => [i.postId, i.commentCount]))).toEqual(
        Object.fromEntries([...posts.keys()].map((id) => [id, [...comments.values()].filter((c) => c.postId === id && !c.deleted).length])),
      )
      expect(await deadLetters(BOARD_QUERY_SCHEMA)).toEqual([])
      if (broker) {
        // The events came through the broker: the read side checkpointed every partition, not the feed.
        const read = (await listCheckpoints(db, BOARD_QUERY_SCHEMA)).filter((c) => c.consumer === POST_DOCUMENT_CONSUMER).map((c) => c.source)
        expect(read.filter((source) => source.startsWith(COMMENT_SOURCE)).sort()).toEqual(Array.from({ length: PARTITIONS }, (_, p) => partitionSource(COMMENT_SOURCE, p)))
      }
      const all = [...comments.values()]
      mark(`documents exact: ${all.length} comments (${live} live, ${all.filter((c) => c.deleted).length} deleted, ${all.filter((c) => c.edited).length} edited)`)
      expect(all.length).toBeGreaterThanOrEqual(MIN_COMMENTS)
      expect(all.some((c) => c.deleted) && all.some((c) => c.edited && !c.deleted)).toBe(true)
    }, 150_000)

    it('has exactly one notification per comment by someone else on a writer post, none doubled by the kills', async () => {
      const writers = [...new Set([...posts.values()].map((p) => p.writerId))].map((id) => members.get(id)!)
      await eventually(() => fresh(notification.client, '/api/notifications?limit=1', [COMMENT_SOURCE], writers[0]!.token), Boolean, {
        timeoutMs: 30_000,
        what: 'board.notification to catch up with the comment feed',
      })
      mark('board.notification caught up')
      expect(await deadLetters(NOTIFICATION_SCHEMA)).toEqual([])
      let total = 0
      for (const writer of writers) {
        const items: NotificationItem[] = []
        let cursor: string | null = null
        do {
          const page: Answer<{ items: NotificationItem[]; nextCursor: string | null }> = await notification.client.call('GET', `/api/notifications?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
            token: writer.token,
          })
          expect(page.status).toBe(200)
          items.push(...page.body.items)
          cursor = page.body.nextCursor
        } while (cursor)
        const ids = items.map((n) => n.commentId)
        expect(new Set(ids).size, `no comment notified twice to ${writer.memberId}`).toBe(ids.length)
        const byOthers = [...comments.values()].filter((c) => posts.get(c.postId)!.writerId === writer.memberId && c.authorId !== writer.memberId)
        // A live comment is notified exactly once. A deleted one was notified only if the notification service
        // read it before it was deleted (it reads the comment's latest state), so at most once.
        const mustHave = byOthers.filter((c) => !c.deleted).map((c) => c.commentId)
        const mayHave = new Set(byOthers.map((c) => c.commentId))
        expect(ids.filter((id) => !mayHave.has(id)), `notifications of ${writer.memberId} for no comment by another on their posts`).toEqual([])
        expect(mustHave.filter((id) => !ids.includes(id)), `live comments by others not notified to ${writer.memberId}`).toEqual([])
        for (const n of items) {
          const c = comments.get(n.commentId)!
          expect(n).toMatchObject({ postId: c.postId, actor: { memberId: c.authorId } })
        }
        total += items.length
      }
      mark(`notifications exact: ${total}`)
    }, 60_000)

    /**
     * A read with a consistency token waits (up to 2 s) for the read side to reach it, else answers what it has
     * flagged `Tidings-Stale`. A fresh answer must hold the write; a stale one is asked again, since the feed
     * horizon is the oldest open transaction of the whole PostgreSQL server (a busy shared server may hold it).
     */
    async function readYourWrite<T>(what: string, read: () => Promise<Answer<T>>, check: (body: T) => void): Promise<void> {
      const t = Date.now()
      for (let attempt = 1; ; attempt++) {
        const answer = await read()
        expect(answer.status).toBe(200)
        if (answer.headers.get('tidings-stale') === null) {
          check(answer.body)
          mark(`${what}: fresh after ${Date.now() - t} ms${attempt > 1 ? ` (${attempt - 1} stale answers first)` : ''}`)
          return
        }
        if (attempt === 10) throw new Error(`${what}: still stale after ${attempt} reads`)
      }
    }

    it('reads its own write across processes after the restarts', async () => {
      const [postId, post] = [...posts.entries()][0]!
      const writer = members.get(post.writerId)!
      const commenter = [...members.values()].find((m) => m.memberId !== post.writerId)!
      for (let i = 0; i < 3; i++) {
        const added = note(await commentApi.addComment(commenter, postId, `read me back ${i}`), 201, 'add comment')
        const { commentId } = added.body
        comments.set(commentId, { commentId, postId, authorId: commenter.memberId, content: `read me back ${i}`, edited: false, deleted: false })
        expect(added.position).toMatch(/^board\.comment@/)
        await readYourWrite(`document ${i}`, () => query.client.document(postId, added.position), (doc) => {
          expect(doc.comments.filter((c) => c.commentId === commentId)).toEqual([
            expect.objectContaining({ content: `read me back ${i}`, author: { memberId: commenter.memberId, nickname: commenter.nickname } }),
          ])
          expect(doc.commentCount).toBe([...comments.values()].filter((c) => c.postId === postId && !c.deleted).length)
        })
        await readYourWrite(
          `notifications ${i}`,
          () => notification.client.call<{ items: NotificationItem[] }>('GET', '/api/notifications?limit=5', { token: writer.token, headers: { 'Tidings-Position': added.position! } }),
          (list) => expect(list.items.filter((n) => n.commentId === commentId)).toHaveLength(1),
        )
      }
    }, 60_000)
  })
}
