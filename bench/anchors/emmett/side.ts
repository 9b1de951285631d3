import { serveParent } from '../../src/lib/child'
import { closedLoop, type Throughput } from '../../src/lib/load'

/**
 * One side of the comparison (Tidings or Emmett), an application in a process of its own: its 16 writers
 * (in-process callers of its comment command) and its asynchronous consumer keeping the post documents
 * share the process, as they would in a service. The runner asks for rounds over IPC.
 */
export const POSTS = 100
export const WRITERS = 16

const LOREM =
  'The quick brown fox jumps over the lazy dog while the board keeps one document per post, with every comment and nickname in it.'

/** The text of every comment (figure 9's). */
export const COMMENT = `A comment written under load. ${LOREM}`
export const POST_TITLE = (p: number): string => `Post ${p}: a title of ordinary length`
export const POST_CONTENT = `${LOREM} ${LOREM}`

export interface Side {
  /** The posts to comment on (created by the side at start). */
  postIds: readonly string[]
  /** Writer `writer` (a member of its own) adds one comment to `postId` through the side's command. */
  comment(writer: number, postId: string): Promise<void>
  /** Comment events written that the post documents do not show yet. */
  behind(): Promise<number>
  /** Whether the post documents show every event written so far. */
  caughtUp(): Promise<boolean>
  /** Counters for the report (e.g. version conflicts retried), since the start. */
  counters(): Record<string, number>
  close(): Promise<void>
}

export interface Round extends Throughput {
  /** Events not yet in the post documents when the writers stopped. */
  behind: number
  /** From the writers' stop until the documents showed every comment. */
  lagMs: number
  /** CPU time of this process (process.cpuUsage) over the writers and the catch-up. */
  cpuMs: number
}

/**
 * Serves the runner: `round` runs the writers for `ms` (closed loop; writer w goes round the posts from
 * its own offset w × 7, as figure 9's connections do), then waits until the consumer has caught up.
 */
export function serveSide(open: () => Promise<Side>): void {
  open().then(
    (side) => {
      const next = Array.from({ length: WRITERS }, () => 0)
      const waitCaughtUp = async (timeoutMs: number) => {
        const started = performance.now()
        while (!(await side.caughtUp())) {
          if (performance.now() - started > timeoutMs) throw new Error(`consumer not caught up after ${timeoutMs} ms`)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        return performance.now() - started
      }
      serveParent({
        caughtUp: (args: { timeoutMs?: number }) => waitCaughtUp(args.timeoutMs ?? 120_000),
        round: async (args: { ms: number }): Promise<Round> => {
          const cpu = process.cpuUsage()
          const written = await closedLoop(WRITERS, args.ms, (w) => side.comment(w, side.postIds[(w * 7 + next[w]!++) % side.postIds.length]!))
          const stopped = performance.now()
          const behind = await side.behind()
          await waitCaughtUp(120_000)
          const lagMs = performance.now() - stopped
          const used = process.cpuUsage(cpu)
          return { ...written, behind, lagMs, cpuMs: (used.user + used.system) / 1000 }
        },
        counters: () => side.counters(),
        stop: () => {
          setImmediate(() => {
            side.close().then(
              () => process.exit(0),
              () => process.exit(1),
            )
          })
          return true
        },
      })
      process.send?.({ ready: 0 })
    },
    (error: unknown) => {
      process.send?.({ failed: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      process.exit(1)
    },
  )
}
