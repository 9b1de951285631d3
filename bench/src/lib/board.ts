import type autocannon from 'autocannon'
import { BoardClient, type Member } from '@tidings/board/test-kit'
import { ChildServer } from './child'
import { backendsOf } from './cpu'
import { CLIENTS } from './env'
import { KeepAliveClient } from './http-load'
import type { Workbench } from './workbench'

/**
 * The board benches' shared parts: the board in a child process on a fresh PostgreSQL database or an
 * in-memory PGlite, and the data they read and comment on.
 */
export type BoardEngine = 'postgres' | 'pglite'

export const ENGINE_NAMES: Record<BoardEngine, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' }

export const BOARD_APPLICATION = 'tidings-bench-board'

export interface RunningBoard {
  engine: BoardEngine
  server: ChildServer
  api: BoardClient
  /** The PostgreSQL backends serving the board (none on PGlite). */
  backends?: () => Promise<number[]>
  stop(): Promise<void>
}

/**
 * `composeBoard` in a process of its own, as `npm start` runs it: on PostgreSQL in a database created for
 * it (composeBoard's schema names are fixed) with a pool of 16 connections, or on PGlite in memory.
 */
export async function startBoard(bench: Workbench, engine: BoardEngine, options: { hotDocuments?: number } = {}): Promise<RunningBoard> {
  const url = engine === 'postgres' ? await bench.serverDatabase('board') : undefined
  const env: Record<string, string> = { BENCH_BOARD_ENGINE: engine, BENCH_BOARD_POOL: String(CLIENTS) }
  if (url) env.BENCH_BOARD_URL = url
  if (options.hotDocuments !== undefined) env.BENCH_BOARD_HOT = String(options.hotDocuments)
  const server = await ChildServer.start('./board-server.ts', `board (${engine})`, env)
  let stopped: Promise<void> | undefined
  const stop = () =>
    (stopped ??= (async () => {
      await server.stop()
      if (url) await bench.dropDatabase(url)
    })())
  bench.adopt(stop)
  return {
    engine,
    server,
    api: new BoardClient(server.url),
    ...(url ? { backends: () => backendsOf(bench.admin, BOARD_APPLICATION) } : {}),
    stop,
  }
}

export interface BoardData {
  members: Member[]
  postIds: string[]
}

const LOREM =
  'The quick brown fox jumps over the lazy dog while the board keeps one document per post, with every comment and nickname in it.'

/**
 * Members (each with a token), posts written by them in turn, and `commentsPerPost` comments on each post
 * by the members in turn, all over the HTTP API; then waits until the read sides have caught up.
 */
export async function seedBoard(board: RunningBoard, shape: { members: number; posts: number; commentsPerPost: number }): Promise<BoardData> {
  const api = board.api
  const http = new KeepAliveClient(new URL(board.server.url))
  const send = async (member: Member, path: string, body: unknown): Promise<Record<string, unknown>> => {
    const answer = await http.request('POST', path, { body, headers: { authorization: `Bearer ${member.token}` } })
    if (answer.status !== 201) throw new Error(`POST ${path}: ${answer.status} ${answer.body}`)
    return JSON.parse(answer.body) as Record<string, unknown>
  }
  const started = performance.now()
  const members = await inParallel(4, range(shape.members), (i) => api.newMember(`b${i}x`))
  const postIds = await inParallel(CLIENTS, range(shape.posts), async (p) => {
    const created = await send(members[p % members.length]!, '/api/posts', { title: `Post ${p}: a title of ordinary length`, content: `${LOREM} ${LOREM}` })
    return String(created.postId)
  })
  const comments = range(shape.posts * shape.commentsPerPost)
  await inParallel(CLIENTS, comments, async (c) => {
    const postId = postIds[c % postIds.length]!
    const author = members[(c + Math.floor(c / postIds.length)) % members.length]!
    await send(author, `/api/posts/${postId}/comments`, { content: `Comment ${c}. ${LOREM}` })
  })
  http.close()
  const written = performance.now()
  await board.server.call('caughtUp', {})
  const done = performance.now()
  console.log(
    `     (seeded ${shape.members} members, ${shape.posts} posts, ${shape.posts * shape.commentsPerPost} comments in ${((written - started) / 1000).toFixed(1)} s; read sides caught up ${((done - written) / 1000).toFixed(1)} s later)`,
  )
  return { members, postIds }
}

export interface SeededBoard {
  board: RunningBoard
  data: BoardData
}

/** The board that `board-read` and `board-visibility` share in one run: 16 members, 100 posts, 20 comments on each. */
export const READ_SHAPE = { members: CLIENTS, posts: 100, commentsPerPost: 20 }

export async function seededBoard(bench: Workbench, engine: BoardEngine): Promise<SeededBoard> {
  const board = await startBoard(bench, engine)
  return { board, data: await seedBoard(board, READ_SHAPE) }
}

/** Runs `work` on the given board, or on one of its own (stopped afterwards) when none is given. */
export async function withSeededBoard<T>(bench: Workbench, engine: BoardEngine, given: SeededBoard | undefined, work: (seeded: SeededBoard) => Promise<T>): Promise<T> {
  const seeded = given ?? (await seededBoard(bench, engine))
  try {
    return await work(seeded)
  } finally {
    if (!given) await seeded.board.stop()
  }
}

/** One comment request per post, for a connection that comments as `member`, starting at its own offset. */
export function commentRequests(member: Member, postIds: readonly string[], offset: number): autocannon.Request[] {
  const body = JSON.stringify({ content: `A comment written under load. ${LOREM}` })
  return rotate(
    postIds.map((postId) => ({
      method: 'POST',
      path: `/api/posts/${postId}/comments`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${member.token}` },
      body,
    })),
    offset,
  )
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = ((by % items.length) + items.length) % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

/** A deterministic shuffle (mulberry32), so runs send the same request order. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

export async function inParallel<T, R>(concurrency: number, items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await work(items[i]!)
      }
    }),
  )
  return results
}
