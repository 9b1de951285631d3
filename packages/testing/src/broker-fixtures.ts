import { expect } from 'vitest'
import { partitionOf, START, TidingsError, uuidv7, type Envelope, type FeedPage, type PartitionReader, type Position } from '@tidings/core'

let counter = 0

/** An envelope as the relay publishes it: id, a producer position, data and meta that must survive the trip. */
export function testEnvelope(source: string, key: string, version: number): Envelope {
  const n = ++counter
  return {
    id: uuidv7(),
    type: 'test.ThingHappened.v1',
    source,
    key,
    version,
    position: `${7000 + n}-${n}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
    data: { n, text: `event ${n}` },
    meta: { correlationId: `c-${n}` },
  }
}

/** `count` events over `keys` keys, round robin, each key's versions counting up. */
export function testEvents(source: string, count: number, keys: number, prefix = 'key'): Envelope[] {
  const versions = new Map<string, number>()
  return Array.from({ length: count }, (_, i) => {
    const key = `${prefix}-${i % keys}`
    const version = (versions.get(key) ?? 0) + 1
    versions.set(key, version)
    return testEnvelope(source, key, version)
  })
}

/** A key that falls into the partition. */
export function keyInPartition(partition: number, partitions: number, prefix = 'k'): string {
  for (let i = 0; ; i++) if (partitionOf(`${prefix}${i}`, partitions) === partition) return `${prefix}${i}`
}

/** Everything a partition holds after `after`, page by page, without waiting. */
export async function readToEnd(reader: PartitionReader, after: Position = START, limit = 100): Promise<Envelope[]> {
  const items: Envelope[] = []
  for (;;) {
    const page: FeedPage = await reader.read(after, limit)
    if (page.items.length === 0) return items
    items.push(...page.items)
    after = page.next
  }
}

/** The TidingsError a promise rejects with (the test fails if it resolves or rejects with anything else). */
export async function rejectionOf(promise: Promise<unknown>): Promise<TidingsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TidingsError)
  return error as TidingsError
}

/**
 * Runs `operation` again, 50 ms apart, while it fails with kind `unavailable` (a broker that is not back
 * yet), as a subscription or the relay does; any other failure, or one after `retries` retries, fails.
 */
export async function whenUp<T>(operation: () => Promise<T>, retries = 100): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation()
    } catch (error) {
      expect(error).toMatchObject({ kind: 'unavailable' })
      if (attempt > retries) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
