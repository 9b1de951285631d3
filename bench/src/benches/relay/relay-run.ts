import { comparePositions, type Position, type Publisher } from '@tidings/core'
import { OutboxFeed, Relay, sleep, type Database } from '@tidings/postgres'
import type { Throughput } from '../../lib/load'
import { TimedFeed, TimedPublisher, type PageProfile } from './page-profile'
import { PARTITIONS } from './settings'

/** A relay over the outbox for `ms`, then stopped wherever it is (a warm-up). */
export async function relayFor(db: Database, schema: string, source: string, publisher: Publisher, ms: number): Promise<void> {
  const relay = new Relay({ db, feed: new OutboxFeed(db, schema, source), publisher })
  relay.start()
  await sleep(ms)
  await relay.stop()
}

/** A relay from START to a fresh stream: events/s until `last` (the `events`-th event) is confirmed. */
export async function relayOnce(
  stored: (source: string) => Promise<number>,
  db: Database,
  schema: string,
  source: string,
  publisher: Publisher,
  batchSize: number,
  last: Position,
  events: number,
  profile: PageProfile,
): Promise<Throughput> {
  const feed = new TimedFeed(db, schema, source, profile)
  const relay = new Relay({ db, feed, publisher: new TimedPublisher(publisher, profile), batchSize })
  const start = performance.now()
  profile.started(start)
  relay.start()
  try {
    const deadline = start + 120_000
    while (comparePositions(await relay.publishedPosition(), last) < 0) {
      if (performance.now() > deadline) throw new Error(`relay (batch ${batchSize}) did not reach ${last} in 120 s`)
      await sleep(20)
    }
  } finally {
    await relay.stop()
  }
  const ms = performance.now() - start
  const count = await stored(source)
  // The relay stops after the pages out: up to two pages more than counted (and their watermarks).
  if (count < events || count > events + 2 * batchSize + PARTITIONS * Math.ceil(events / batchSize + 2)) {
    throw new Error(`the broker holds ${count} messages of ${source}, expected ${events}`)
  }
  return { ops: events, ms, perSecond: (events * 1000) / ms }
}

