import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { projections } from '@event-driven-io/emmett'
import { defaultTag, getPostgreSQLEventStore, messagesTable, processorsTable, type PostgreSQLEventStoreConsumerConfig } from '@event-driven-io/emmett-postgresql'
import { addComment, commentsProjection, conflicts, handle, postDocumentProjection, postStream, publishPost, type PostEvent } from './post-stream'
import { COMMENT, POST_CONTENT, POST_TITLE, POSTS, serveSide, WRITERS, type Side } from './side'

/**
 * The Emmett side, written as its docs show: `getPostgreSQLEventStore` with an inline Pongo projection
 * (each comment's document, in the append's transaction), the `CommandHandler` appending to the post's
 * stream with its expected version, and the store's consumer running a projector that keeps the post
 * documents (`pongoSingleStreamProjection`).
 *
 * Tuned: the pool, 16 connections (node-postgres's default is 10; the board gets 16). Emmett 0.42 sizes
 * its pool only through a `pg.Pool` passed in: the `connectionOptions: { max }` of the docs' example is
 * not in 0.42's options and is dropped. The consumer's pulling keeps Emmett's defaults (batches of 100,
 * 50 ms between batches, backing off to 1 s when idle) unless BENCH_EMMETT_BATCH / BENCH_EMMETT_PULL_MS
 * say otherwise.
 *
 * Environment: BENCH_EMMETT_URL (a database of its own), BENCH_EMMETT_POOL.
 */
const url = process.env.BENCH_EMMETT_URL!
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.BENCH_EMMETT_POOL ?? WRITERS), application_name: 'tidings-bench-emmett' })

function pulling(): PostgreSQLEventStoreConsumerConfig['pulling'] | undefined {
  const batchSize = process.env.BENCH_EMMETT_BATCH ? Number(process.env.BENCH_EMMETT_BATCH) : undefined
  const pullingFrequencyInMs = process.env.BENCH_EMMETT_PULL_MS ? Number(process.env.BENCH_EMMETT_PULL_MS) : undefined
  if (batchSize === undefined && pullingFrequencyInMs === undefined) return undefined
  return { ...(batchSize !== undefined ? { batchSize } : {}), ...(pullingFrequencyInMs !== undefined ? { pullingFrequencyInMs } : {}) }
}

async function open(): Promise<Side> {
  const eventStore = getPostgreSQLEventStore(url, {
    projections: projections.inline([commentsProjection]),
    connectionOptions: { pool },
  })
  await eventStore.schema.migrate()

  const members = Array.from({ length: WRITERS }, () => randomUUID())
  const postIds = Array.from({ length: POSTS }, () => randomUUID())
  for (const [p, postId] of postIds.entries()) {
    const command = { postId, authorId: members[p % members.length]!, title: POST_TITLE(p), content: POST_CONTENT, publishedAt: new Date().toISOString() }
    await handle(eventStore, postStream(postId), (state) => publishPost(command, state))
  }

  const tuned = pulling()
  const consumer = eventStore.consumer<PostEvent>(tuned ? { pulling: tuned } : {})
  const projector = consumer.projector({ projection: postDocumentProjection })
  let failed: unknown
  consumer.start().catch((error: unknown) => {
    failed = error
  })

  // Events past the projector's checkpoint (Emmett keeps it as zero-padded text in its processors table).
  const behind = async () => {
    if (failed) throw failed
    const result = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${messagesTable.name}
        WHERE global_position > coalesce((SELECT last_processed_checkpoint::bigint FROM ${processorsTable.name} WHERE processor_id = $1 AND partition = $2 AND version = 1), 0)`,
      [projector.id, defaultTag],
    )
    return result.rows[0]!.n
  }

  return {
    postIds,
    comment: async (writer, postId) => {
      // The decision stays pure (the docs' advice): ids and time are made before the handler runs.
      const command = { commentId: randomUUID(), postId, authorId: members[writer]!, content: COMMENT, addedAt: new Date().toISOString() }
      await handle(eventStore, postStream(postId), (state) => addComment(command, state))
    },
    behind,
    caughtUp: async () => (await behind()) === 0,
    counters: () => ({ 'version conflicts retried': conflicts.retried }),
    close: async () => {
      await consumer.close()
      await eventStore.close()
      await pool.end()
    },
  }
}

serveSide(open)
