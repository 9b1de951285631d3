import { InvalidPosition, partitionOf, partitionSource, positionBefore, START, type Envelope, type Position } from '@tidings/core'
import { keyInPartition, readToEnd as readAll, rejectionOf as rejection, serviceReachable, testEnvelope as envelope, testEvents as events } from '@tidings/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MALFORMED_TYPE } from '@tidings/core'
import { redisTransport, streamKey, type RedisTransport } from '../index'

const SHARED = 'redis://127.0.0.1:6379'
const PARTITIONS = 4
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
/** Every run its own key prefix and every test its own source: the shared server serves other runs too. */
const PREFIX = `tidings-test-${run}`
let sources = 0
const newSource = (label: string): string => `test.${label}${++sources}`

const keyIn = (partition: number, partitions = PARTITIONS, prefix = 'k'): string => keyInPartition(partition, partitions, prefix)

/** What a reader hands out for a published envelope: the entry id as position, the producer's in meta. */
const delivered = (e: Envelope, position: Position): Envelope => ({ ...e, position, meta: { ...e.meta, sourcePosition: e.position! } })


/** XINFO GROUPS of a stream as `{ name: { 'last-delivered-id', pending, consumers } }`. */
async function groups(redis: Redis, key: string): Promise<Record<string, Record<string, unknown>>> {
  const reply = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][]
  const all: Record<string, Record<string, unknown>> = {}
  for (const flat of reply) {
    const info: Record<string, unknown> = {}
    for (let i = 0; i < flat.length; i += 2) info[flat[i] as string] = flat[i + 1]
    all[info.name as string] = info
  }
  return all
}

/** The ids XPENDING lists for a group, oldest first. */
async function pendingIds(redis: Redis, key: string, group: string): Promise<string[]> {
  const reply = (await redis.call('XPENDING', key, group, '-', '+', 10_000)) as Array<[string, string, number, number]>
  return reply.map(([id]) => id)
}

async function streamIds(redis: Redis, key: string): Promise<string[]> {
  return (await redis.xrange(key, '-', '+')).map(([id]) => id)
}

describe.runIf(await serviceReachable('Redis', 6379))('RedisTransport (shared server)', () => {
  let transport: RedisTransport
  let redis: Redis

  beforeAll(async () => {
    transport = await redisTransport({ url: SHARED, partitions: PARTITIONS, prefix: PREFIX })
    redis = new Redis(SHARED)
  })

  afterAll(async () => {
    await transport?.close()
    const keys = await redis.keys(`${PREFIX}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis?.disconnect()
  })

  it('puts each key in its partition stream in publish order, the envelope and its id as fields; a repeat is stored again', async () => {
    const source = newSource('order')
    await transport.declare(source)
    await transport.declare(source)
    const published = events(source, 600, 37) // three transactions of at most 256
    const publisher = transport.publisher()
    await publisher.publish(source, published)

    for (let p = 0; p < PARTITIONS; p++) {
      const entries = await redis.xrange(streamKey(PREFIX, source, p), '-', '+')
      const expected = published.filter((e) => partitionOf(e.key, PARTITIONS) === p)
      expect(expected.length).toBeGreaterThan(0)
      expect(entries.map(([, fields]) => fields)).toEqual(expected.map((e) => ['e', JSON.stringify(e), 'id', e.id]))
    }
    expect(transport.keyOf(source, 3)).toBe(`${PREFIX}:${source}:3`)

    // Redis has no dedupe by message id: a batch published again (after a relay crash) is stored again,
    // and consumers' inboxes drop the repeats.
    await publisher.publish(source, published.slice(0, 10))
    const lengths = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => redis.xlen(streamKey(PREFIX, source, p))))
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(610)
    await publisher.publish(source, [])
  })

  it('reads by offset: entry ids are the positions, from START or any id, at most limit, the producer position in meta', async () => {
    const source = newSource('offsets')
    const key = keyIn(2)
    const published = Array.from({ length: 12 }, (_, i) => envelope(source, key, i + 1))
    await transport.publisher().publish(source, published)
    const ids = await streamIds(redis, streamKey(PREFIX, source, 2))
    const reader = transport.partition(source, 2, 'offsets-test')
    expect(reader.source).toBe(partitionSource(source, 2))

    const first = await reader.read(START, 5)
    expect(first).toEqual({ items: published.slice(0, 5).map((e, i) => delivered(e, ids[i]!)), next: ids[4] })
    const middle = await reader.read(ids[7]!, 3)
    expect(middle.items.map((e) => e.position)).toEqual(ids.slice(8, 11))
    expect(middle.items.map((e) => e.version)).toEqual([9, 10, 11])
    expect(middle.items[0]!.meta).toEqual({ correlationId: published[8]!.meta.correlationId, sourcePosition: published[8]!.position })
    // A position between two entries reads from the next one.
    expect((await reader.read(positionBefore(ids[3]!), 2)).items.map((e) => e.position)).toEqual(ids.slice(3, 5))
    expect(await reader.read(ids[11]!, 5)).toEqual({ items: [], next: ids[11] })
    expect((await readAll(reader, START, 4)).map((e) => e.id)).toEqual(published.map((e) => e.id))
    // The other partitions hold nothing of this source.
    expect(await transport.partition(source, 0, 'offsets-test').read(START, 10)).toEqual({ items: [], next: START })

    expect(await rejection(reader.read('nope', 10))).toBeInstanceOf(InvalidPosition)
    expect(await rejection(reader.lag('1-2-3'))).toBeInstanceOf(InvalidPosition)
    await expect(reader.read(START, 0)).rejects.toThrow(RangeError)
    expect(() => transport.partition(source, PARTITIONS, 'x')).toThrow(RangeError)
  })

  it('waits on an empty page for the next entry, and an abort ends the wait at once', async () => {
    const source = newSource('wait')
    const key = keyIn(1)
    const publisher = transport.publisher()
    await publisher.publish(source, [envelope(source, key, 1)])
    const reader = transport.partition(source, 1, 'wait-test')
    const head = (await reader.read(START, 10)).next

    let started = performance.now()
    const waiting = reader.read(head, 10, { waitMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    const next = envelope(source, key, 2)
    await publisher.publish(source, [next])
    const page = await waiting
    expect(page.items.map((e) => e.id)).toEqual([next.id])
    expect(performance.now() - started).toBeLessThan(5_000)

    // Nothing comes: the wait lasts its waitMs and answers an empty page.
    started = performance.now()
    expect(await reader.read(page.next, 10, { waitMs: 300 })).toEqual({ items: [], next: page.next })
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)

    const abort = new AbortController()
    started = performance.now()
    const aborted = reader.read(page.next, 10, { waitMs: 20_000, signal: abort.signal })
    setTimeout(() => abort.abort(), 100)
    expect(await aborted).toEqual({ items: [], next: page.next })
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(await reader.read(page.next, 10, { waitMs: 20_000, signal: abort.signal })).toEqual({ items: [], next: page.next })

    // The aborted block was lifted: the next wait sees the next entry at once.
    started = performance.now()
    const again = reader.read(page.next, 10, { waitMs: 20_000 })
    const third = envelope(source, key, 3)
    await publisher.publish(source, [third])
    expect((await again).items.map((e) => e.id)).toEqual([third.id])
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  it("moves the consumer's group with the positions read after: delivered pending, committed acknowledged, rewinds re-delivered", async () => {
    const source = newSource('group')
    const key = keyIn(0)
    const published = Array.from({ length: 20 }, (_, i) => envelope(source, key, i + 1))
    await transport.publisher().publish(source, published)
    const stream = streamKey(PREFIX, source, 0)
    const ids = await streamIds(redis, stream)
    const reader = transport.partition(source, 0, 'ledger')
    const state = async () => {
      const group = (await groups(redis, stream)).ledger!
      return { lastDelivered: group['last-delivered-id'], pending: await pendingIds(redis, stream, 'ledger') }
    }

    const first = await reader.read(START, 5)
    expect(await state()).toEqual({ lastDelivered: ids[4], pending: ids.slice(0, 5) })
    expect((await groups(redis, stream)).ledger).toMatchObject({ consumers: 1, pending: 5 })
    // The caller committed the first page: it is acknowledged, the second page is pending.
    const second = await reader.read(first.next, 5)
    expect(second.items.map((e) => e.position)).toEqual(ids.slice(5, 10))
    expect(await state()).toEqual({ lastDelivered: ids[9], pending: ids.slice(5, 10) })
    // A continuation left the group where it was: Redis still knows how far behind it is.
    expect((await groups(redis, stream)).ledger).toMatchObject({ 'entries-read': 10, lag: 10 })
    // The second page was not committed (its transaction failed): asked again, it comes again.
    expect(await reader.read(first.next, 5)).toEqual(second)
    expect(await state()).toEqual({ lastDelivered: ids[9], pending: ids.slice(5, 10) })
    // Part of a page committed: what follows is delivered again, what was committed is acknowledged.
    const partial = await reader.read(ids[6]!, 8)
    expect(partial.items.map((e) => e.position)).toEqual(ids.slice(7, 15))
    expect(await state()).toEqual({ lastDelivered: ids[14], pending: ids.slice(7, 15) })
    // A rebuild reads from START again: everything is delivered again.
    const rebuilt = await readAll(reader, START, 7)
    expect(rebuilt.map((e) => e.id)).toEqual(published.map((e) => e.id))
    expect(await state()).toEqual({ lastDelivered: ids[19], pending: [] })

    // Another consumer has its own group, untouched by this one.
    await transport.partition(source, 0, 'search').read(START, 3)
    expect(Object.keys(await groups(redis, stream)).sort()).toEqual(['ledger', 'search'])
    expect(await state()).toEqual({ lastDelivered: ids[19], pending: [] })
    expect(await pendingIds(redis, stream, 'search')).toEqual(ids.slice(0, 3))
  })

  it('continues after its own checkpoint when another instance of the consumer moved the group meanwhile', async () => {
    const source = newSource('handover')
    const key = keyIn(3)
    await transport.publisher().publish(source, Array.from({ length: 20 }, (_, i) => envelope(source, key, i + 1)))
    const a = transport.partition(source, 3, 'handover-test')
    const b = transport.partition(source, 3, 'handover-test')
    const first = await a.read(START, 5)
    expect(first.items.map((e) => e.version)).toEqual([1, 2, 3, 4, 5])
    // B took the partition over for a while and read further than A's checkpoint.
    expect((await b.read(first.next, 10)).items.map((e) => e.version)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    await b.close()
    const resumed = await a.read(first.next, 5)
    expect(resumed.items.map((e) => e.version)).toEqual([6, 7, 8, 9, 10])
    expect((await a.read(resumed.next, 100)).items.map((e) => e.version)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  })

  it('turns an entry that is not an envelope into tidings.Malformed at its position', async () => {
    const source = newSource('malformed')
    const stream = streamKey(PREFIX, source, 0)
    await redis.xadd(stream, '*', 'e', 'not json at all')
    await redis.xadd(stream, '*', 'e', JSON.stringify({ id: 42, key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z' }))
    await redis.xadd(stream, '*', 'e', JSON.stringify({ ...envelope(source, 'k-nul', 1), data: { text: 'a\u0000b' } }))
    await redis.xadd(stream, '*', 'other', 'field')
    const good = envelope(source, keyIn(0), 1)
    await transport.publisher().publish(source, [good])
    const ids = await streamIds(redis, stream)

    const items = await readAll(transport.partition(source, 0, 'malformed-test'))
    expect(items.map((e) => e.type)).toEqual([MALFORMED_TYPE, MALFORMED_TYPE, MALFORMED_TYPE, MALFORMED_TYPE, good.type])
    expect(items.map((e) => e.position)).toEqual(ids)
    const [text, noId, nul, noField, ok] = items as [Envelope, Envelope, Envelope, Envelope, Envelope]
    expect(text).toEqual({
      id: `malformed:${source}#0:${ids[0]}`,
      type: MALFORMED_TYPE,
      source,
      key: 'malformed',
      position: ids[0],
      occurredAt: expect.any(String),
      data: { reason: 'Malformed envelope: not JSON', raw: 'not json at all' },
      meta: {},
    })
    expect(noId).toMatchObject({ key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z', data: { reason: 'Malformed envelope: id' } })
    expect(nul).toMatchObject({ key: 'k-nul', data: { reason: 'Malformed envelope: a character PostgreSQL cannot store' } })
    expect((nul.data as { raw: string }).raw).not.toContain('\u0000')
    expect(noField).toMatchObject({ key: 'malformed', data: { reason: 'Malformed envelope: no body', raw: '["other","field"]' } })
    expect(ok).toEqual(delivered(good, ids[4]!))
  })

  it('reports lag exactly: the entries after a position and when the first of them occurred, none at the head', async () => {
    const source = newSource('lag')
    const key = keyIn(1)
    const published = Array.from({ length: 2_500 }, (_, i) => envelope(source, key, i + 1))
    await transport.publisher().publish(source, published)
    const ids = await streamIds(redis, streamKey(PREFIX, source, 1))
    expect(ids).toHaveLength(2_500)
    const reader = transport.partition(source, 1, 'lag-test')

    expect(await reader.lag(START)).toEqual({ events: 2_500, oldestUnreadAt: new Date(published[0]!.occurredAt) })
    // Around the script's chunks of 1,000, counted from either end.
    for (const i of [0, 1, 498, 999, 1_000, 1_001, 1_499, 1_500, 1_999, 2_000, 2_498]) {
      expect(await reader.lag(ids[i]!), `after entry ${i}`).toEqual({ events: 2_499 - i, oldestUnreadAt: new Date(published[i + 1]!.occurredAt) })
    }
    expect(await reader.lag(positionBefore(ids[10]!))).toEqual({ events: 2_490, oldestUnreadAt: new Date(published[10]!.occurredAt) })
    expect(await reader.lag(ids[2_499]!)).toEqual({ events: 0 })
    expect(await reader.lag(`${Date.now() + 1e9}-0`)).toEqual({ events: 0 })
    expect(await transport.partition(source, 0, 'lag-test').lag(START)).toEqual({ events: 0 })
  })

  it('trims each partition to about maxLen entries when asked to', async () => {
    const trimming = await redisTransport({ url: SHARED, partitions: 1, prefix: PREFIX, maxLen: 100 })
    try {
      const source = newSource('trim')
      await trimming.publisher().publish(source, events(source, 1_000, 5))
      const length = await redis.xlen(streamKey(PREFIX, source, 0))
      expect(length).toBeGreaterThanOrEqual(100)
      expect(length).toBeLessThan(1_000)
      expect((await trimming.partition(source, 0, 'trim-test').lag(START)).events).toBe(length)
    } finally {
      await trimming.close()
    }
  })
})
