import type { Hono } from 'hono'
import { serveHttp } from '@tidings/http'
import { migrate, PgDatabase, PgliteDatabase, sleep, type Database } from '@tidings/postgres'
import { composeBoard, type Board } from '@tidings/board'
import { serveParent, wallNow } from './child'
import { closedLoop } from './load'
import { benchMigrations, rawOpenAccountEmbedded } from './workload'

/**
 * The board under test, in a child process of the bench: `composeBoard` on PostgreSQL (a fresh database
 * the parent created) or on an in-memory PGlite, served by `serveHttp` as `main.ts` does. Besides HTTP it
 * answers the parent over IPC: recompose with another hot-document capacity (same database, same port),
 * wait until the read sides caught up, cache counters, the read side's progress log, and on PGlite the
 * raw ceiling W_lite on this very instance.
 *
 * Environment: BENCH_BOARD_ENGINE=postgres|pglite, BENCH_BOARD_URL, BENCH_BOARD_POOL, BENCH_BOARD_HOT.
 */
const engine = process.env.BENCH_BOARD_ENGINE === 'postgres' ? 'postgres' : 'pglite'
const pool = Number(process.env.BENCH_BOARD_POOL ?? 16)

let db: Database
let board: Board
let loads = 0
let progressLog: Array<[number, string]> | undefined

async function compose(hotDocuments: number | undefined): Promise<void> {
  if (board) await board.stop()
  board = await composeBoard({ db, ...(hotDocuments === undefined ? {} : { hotDocuments }), ...(engine === 'pglite' ? { instanceId: 'embedded' } : {}) })
  // Counts the reads that reach the database (a miss that joins a fill in flight does not).
  const documents = board.services.query.rows
  const get = documents.get.bind(documents)
  documents.get = ((...args: Parameters<typeof get>) => {
    loads++
    return get(...args)
  }) as typeof documents.get
  // The read side's progress: when (on the shared wall clock) each page of the comment feed committed in
  // the post documents. The projection evicts hot copies before progress is reported, so from that
  // moment on a GET without a token shows the page's comments.
  const query = board.services.query.subscriptions[0]!
  let last: string | undefined
  query.onProgress(() => {
    if (!progressLog) return
    const at = wallNow()
    const position = query.status().positions['board.comment']
    if (position !== undefined && position !== last) {
      last = position
      progressLog.push([at, position])
    }
  })
  await board.start()
}

function subscriptions() {
  return [...board.services.query.subscriptions, ...board.services.notification.subscriptions]
}

async function caughtUp(timeoutMs: number): Promise<number> {
  const started = performance.now()
  const feeds = { ...board.services.identity.feeds, ...board.services.post.feeds, ...board.services.comment.feeds }
  for (;;) {
    const heads = new Map(await Promise.all(Object.entries(feeds).map(async ([source, feed]) => [source, await feed.head()] as const)))
    const done = await Promise.all(subscriptions().flatMap((s) => s.sources.map((source) => s.hasProcessed(source, heads.get(source)!))))
    if (done.every(Boolean)) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`read sides not caught up after ${timeoutMs} ms`)
    await sleep(20)
  }
}

let rawSchema: string | undefined

async function main(): Promise<void> {
  db =
    engine === 'postgres'
      ? new PgDatabase({ connectionString: process.env.BENCH_BOARD_URL!, maxConnections: pool, applicationName: 'tidings-bench-board' })
      : await PgliteDatabase.open()
  const hot = process.env.BENCH_BOARD_HOT
  await compose(hot === undefined || hot === '' ? undefined : Number(hot))
  // One server for the process; recomposing swaps the app behind it.
  const app: Pick<Hono, 'fetch'> = { fetch: ((...args: Parameters<Hono['fetch']>) => board.http.fetch(...args)) as Hono['fetch'] }
  // The fast path of whichever board is composed now (the uncached one has an empty cache: it never answers).
  const server = await serveHttp(app, 0, { hostname: '127.0.0.1', fastPath: (req, res) => board.fastPath?.(req, res) ?? false })

  serveParent({
    now: () => wallNow(),
    compose: async (args: { hotDocuments?: number }) => {
      await compose(args.hotDocuments)
      return true
    },
    caughtUp: (args: { timeoutMs?: number }) => caughtUp(args.timeoutMs ?? 120_000),
    behind: async () => {
      const result: Record<string, Record<string, number>> = {}
      for (const s of subscriptions()) result[s.name] = Object.fromEntries(Object.entries(await s.lag()).map(([source, lag]) => [source, lag.events]))
      return result
    },
    // The read sides stopped and started again (the comment bench measures the command side alone).
    pause: async () => {
      await Promise.all(subscriptions().map((s) => s.stop()))
      return true
    },
    resume: () => {
      for (const s of subscriptions()) s.start()
      return true
    },
    status: () => subscriptions().map((s) => s.status()),
    cache: () => ({ ...board.services.query.hot.stats(), loads }),
    progress: (args: { record: boolean }) => {
      const log = progressLog ?? []
      progressLog = args.record ? [] : undefined
      return log
    },
    raw: async (args: { callers: number; ms: number }) => {
      if (engine !== 'pglite') throw new Error('the raw ceiling runs in the board process on PGlite only')
      if (!rawSchema) {
        rawSchema = 'bench_raw'
        await migrate(db, rawSchema, 'bench', benchMigrations)
      }
      const schema = rawSchema
      return closedLoop(args.callers, args.ms, () => rawOpenAccountEmbedded(db, schema))
    },
    stop: () => {
      setImmediate(() => {
        void (async () => {
          await board.stop()
          await server.close()
          await db.close()
          process.exit(0)
        })().catch(() => process.exit(1))
      })
      return true
    },
  })
  process.send?.({ ready: server.port })
}

main().catch((error: unknown) => {
  process.send?.({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  process.exit(1)
})
