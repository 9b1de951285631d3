import { MALFORMED_TYPE } from './broker-envelope'
import type { Envelope } from './envelope'
import { comparePositions, type Position } from './position'
import { partitionOf } from './transport'

/**
 * Per-key order over a broker that stores repeats (RabbitMQ, Redis). Such a broker may refuse a message
 * and still store later ones of the same batch (RabbitMQ nacks what it could not store while a stream
 * recovers); the relay then publishes the whole batch again, which is stored again in full, in order —
 * behind the copies that went ahead. Applying those copies when they come would put a key's later event
 * before its earlier one.
 *
 * So the relay chains every partition's messages: each names the producer position of the message before
 * it in its partition, or where the relay's page began (`meta.previousInPartition`); no event of the
 * partition lies between the two. A consumer that has not reached that position has missed an earlier
 * event, skips the copy — no inbox entry, no handler, no position noted — and applies it when its repeat
 * comes in order. A broker that drops repeats by id (NATS) is not chained: the repeat would never come.
 */
export function chainPartitions(page: readonly Envelope[], partitions: number, after: Position): Envelope[] {
  const previous = new Map<number, Position>()
  return page.map((envelope) => {
    const partition = partitionOf(envelope.key, partitions)
    const chained = { ...envelope, meta: { ...envelope.meta, previousInPartition: previous.get(partition) ?? after } }
    if (envelope.position !== undefined) previous.set(partition, envelope.position)
    return chained
  })
}

/**
 * Whether a consumer that has applied its partition up to the producer position `reached` may apply
 * `envelope` now: unchained, or chained to a position it has reached. With nothing reached yet (a new
 * consumer, or one starting where retention has cut the stream) the first message starts the chain.
 */
export function followsChain(reached: Position | undefined, envelope: Envelope): boolean {
  const previous = envelope.meta.previousInPartition
  return previous === undefined || reached === undefined || comparePositions(previous, reached) <= 0
}

/**
 * The messages a consumer that has reached the producer position `from` may apply now, in order, and the
 * furthest producer position among them and `from` (a re-published tail can repeat older ones; see
 * `producerPositionOf`). A copy a broker stored ahead of an earlier event is left out (`followsChain`).
 */
export function inChain(from: Position | undefined, messages: readonly Envelope[]): { kept: Envelope[]; skipped: number; reached: Position | undefined } {
  let reached = from
  const kept: Envelope[] = []
  for (const message of messages) {
    if (!followsChain(reached, message)) continue
    kept.push(message)
    const at = producerPositionOf(message)
    if (at !== undefined && (reached === undefined || comparePositions(at, reached) > 0)) reached = at
  }
  return { kept, skipped: messages.length - kept.length, reached }
}

/**
 * Where a message sits in its producer's outbox: `meta.sourcePosition` for what came through a broker,
 * else its position. A malformed stand-in's position is only where it was read (a broker's offset: a Redis
 * entry id is far above any outbox position), so it counts only when the stand-in names a producer position.
 */
export function producerPositionOf(message: Envelope): Position | undefined {
  if (message.meta.sourcePosition !== undefined) return message.meta.sourcePosition
  return message.type === MALFORMED_TYPE ? undefined : message.position
}
