import type { ConsumerDefinition } from '@tidings/core'
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
