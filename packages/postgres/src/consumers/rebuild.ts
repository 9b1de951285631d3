import { TidingsError, type ConsumerDefinition, type FeedReader } from '@tidings/core'
import { deleteCheckpoints } from './checkpoints'
import type { Queryable } from '../database/database'
import { closeDeadLetters } from './dead-letters'
import { forgetConsumer } from './inbox'

/**
 * What a rebuild forgets, in the transaction that fenced the consumer's instances off: its dead letters
 * (closed), its inbox, its checkpoints (every feed or partition goes back to the start) and its read model.
 */
export async function forgetForRebuild(tx: Queryable, schema: string, consumer: ConsumerDefinition<Queryable>): Promise<void> {
  await closeDeadLetters(tx, schema, consumer.name)
  await forgetConsumer(tx, schema, consumer.name)
  await deleteCheckpoints(tx, schema, consumer.name)
  await consumer.reset?.(tx)
}

export class RebuildPastRetention extends TidingsError {
  constructor(consumer: string, source: string, through: string) {
    super(
      'REBUILD_PAST_RETENTION',
      'conflict',
      `${consumer} was not rebuilt: retention has deleted ${source} up to ${through}, so a replay from the start would lose those events. Its read model is unchanged.`,
    )
  }
}

/**
 * Refuses a rebuild that could not see everything again: a followed feed that retention has already
 * trimmed would replay only what is left, silently dropping the rest. Checked before anything is cleared.
 * A feed that cannot say (a broker's partition) is taken as complete; brokers keep their own retention.
 */
export async function mustReplayCompletely(consumer: string, feeds: readonly FeedReader[]): Promise<void> {
  for (const feed of feeds) {
    const through = await feed.trimmedThrough?.()
    if (through !== undefined) throw new RebuildPastRetention(consumer, feed.source, through)
  }
}

/** Once the cleared read model has committed, its caches go at once; a failing hook does not fail the rebuild. */
export function afterReset(consumer: ConsumerDefinition<Queryable>): void {
  try {
    consumer.afterReset?.()
  } catch {
    // The hook must not throw (see ConsumerDefinition.afterReset); a cache it failed to drop still expires.
  }
}
