import { partitionOf, uuidv7, type Envelope } from '@tidings/core'

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
