import { InvalidPosition, MALFORMED_TYPE, parsePosition, partitionOf, partitionSource, positionBefore, START, type Envelope, type Position } from '@tidings/core'
import { keyInPartition, readToEnd as readAll, rejectionOf as rejection, serviceReachable, testEnvelope as envelope, testEvents as events } from '@tidings/testing'
import { Connection, type AsyncMessage } from 'rabbitmq-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rabbitmqTransport, type RabbitMqTransport } from './index'

const SHARED = 'amqp://guest:guest@127.0.0.1:5672'
const PARTITIONS = 4
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
/** Every run its own queue prefix and every test its own source: the shared server serves other runs too. */
const PREFIX = `tidings-test-${run}`
let sources = 0
const newSource = (label: string): string => `test.${label}${++sources}`

const keyIn = (partition: number, partitions = PARTITIONS, prefix = 'k'): string => keyInPartition(partition, partitions, prefix)

const seqOf = (position: Position): number => Number(parsePosition(position).seq)

/** What a reader hands out for a published envelope: the stream position, the producer's in meta. */
const delivered = (e: Envelope, position: Position): Envelope => ({ ...e, position, meta: { ...e.meta, sourcePosition: e.position! } })

/** Every message of a stream queue as RabbitMQ holds it (a consumer of the test's own, from the first offset). */
async function rawMessages(rabbit: Connection, queue: string, count: number): Promise<AsyncMessage[]> {
  const channel = await rabbit.acquire()
  try {
    await channel.basicQos({ prefetchCount: count })
    const messages: AsyncMessage[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${queue}: ${messages.length} of ${count} messages`)), 10_000)
      void channel.basicConsume({ queue, noAck: false, arguments: { 'x-stream-offset': 'first' } }, (message) => {
        messages.push(message)
        if (messages.length === count) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    return messages
  } finally {
    await channel.close()
  }
}

describe.runIf(await serviceReachable('RabbitMQ', 5672))('RabbitMqTransport (shared server)', () => {
  let transport: RabbitMqTransport
  let rabbit: Connection
  const declared: string[] = []

  const declare = async (label: string): Promise<string> => {
    const source = newSource(label)
    declared.push(source)
    await transport.declare(source)
    return source
  }

  beforeAll(async () => {
    transport = await rabbitmqTransport({ url: SHARED, partitions: PARTITIONS, prefix: PREFIX, name: 'tidings-test' })
    rabbit = new Connection(SHARED)
    rabbit.on('error', () => {})
  })

  afterAll(async () => {
    await transport?.close()
    for (const source of declared) {
      for (let p = 0; p < PARTITIONS; p++) await rabbit.queueDelete({ queue: `${PREFIX}.${source}.${p}` }).catch(() => {})
    }
    await rabbit?.close()
  })

  it('declares a stream queue per partition; declaring again is fine, with other settings it says so', async () => {
    const source = await declare('declare')
    await transport.declare(source)
    expect(transport.queueOf(source, 3)).toBe(`${PREFIX}.${source}.3`)
    for (let p = 0; p < PARTITIONS; p++) {
      expect(await rabbit.queueDeclare({ queue: transport.queueOf(source, p), passive: true })).toMatchObject({ queue: transport.queueOf(source, p) })
    }
    // A stream, not a classic or quorum queue: RabbitMQ refuses to call it anything else.
    const asQuorum = rabbit.queueDeclare({ queue: transport.queueOf(source, 0), durable: true, arguments: { 'x-queue-type': 'quorum' } })
    await expect(asQuorum).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringContaining("'x-queue-type'") })

    const other = await rabbitmqTransport({ url: SHARED, prefix: PREFIX, maxAge: '1D' })
    try {
      const refused = await rejection(other.declare(source))
      expect(refused).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE', message: expect.stringContaining("'x-max-age'") })
    } finally {
      await other.close()
    }
    await expect(transport.declare('')).rejects.toMatchObject({ code: 'INVALID_SOURCE_NAME' })
    await expect(transport.declare('x'.repeat(250))).rejects.toMatchObject({ code: 'INVALID_SOURCE_NAME' })
    await expect(rabbitmqTransport({ url: SHARED, prefix: 'amq.mine' })).rejects.toThrow(RangeError)
  })

  it('puts each key in its partition in publish order, the id as messageId; a repeat is stored again', async () => {
    const source = await declare('order')
    const published = events(source, 600, 37) // more than two windows of 256
    const publisher = transport.publisher()
    expect(publisher.partitions).toBe(PARTITIONS)
    await publisher.publish(source, published)

    for (let p = 0; p < PARTITIONS; p++) {
      const expected = published.filter((e) => partitionOf(e.key, PARTITIONS) === p)
      expect(expected.length).toBeGreaterThan(0)
      const read = await readAll(transport.partition(source, p, 'order-test'), START, 64)
      expect(read.map((e) => e.id)).toEqual(expected.map((e) => e.id))
      expect(read.map((e) => seqOf(e.position!))).toEqual(expected.map((_, i) => i + 1))
      const versions = new Map<string, number>()
      for (const e of read) {
        expect(e.version).toBe((versions.get(e.key) ?? 0) + 1)
        versions.set(e.key, e.version!)
      }
      if (p === 0) {
        const raw = await rawMessages(rabbit, transport.queueOf(source, 0), expected.length)
        expect(raw.map((m) => m.messageId)).toEqual(expected.map((e) => e.id))
        expect(raw.map((m) => [m.type, m.durable, m.headers?.['x-stream-offset']])).toEqual(expected.map((e, i) => [e.type, true, i]))
      }
    }

    // No dedupe by message id over AMQP: a batch published again (after a relay crash) is stored again,
    // and consumers' inboxes drop the repeats.
    await publisher.publish(source, published.slice(0, 10))
    await publisher.publish(source, [])
    const lags = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => transport.partition(source, p, 'count').lag(START)))
    expect(lags.reduce((n, lag) => n + lag.events, 0)).toBe(610)
  })

  it('reads by offset: 0-<offset + 1> positions, from START or any position, at most limit, the producer position in meta', async () => {
    const source = await declare('offsets')
    const key = keyIn(2)
    const published = Array.from({ length: 12 }, (_, i) => envelope(source, key, i + 1))
    // Three publishes: the stream stores (and delivers) them as separate chunks.
    const publisher = transport.publisher()
    for (const part of [published.slice(0, 1), published.slice(1, 7), published.slice(7)]) await publisher.publish(source, part)
    const reader = transport.partition(source, 2, 'offsets-test')
    expect(reader.source).toBe(partitionSource(source, 2))
    const at = (i: number): Position => `0-${i + 1}`

    const first = await reader.read(START, 5)
    expect(first).toEqual({ items: published.slice(0, 5).map((e, i) => delivered(e, at(i))), next: at(4) })
    const middle = await reader.read(at(7), 3)
    expect(middle.items.map((e) => e.position)).toEqual([at(8), at(9), at(10)])
    expect(middle.items.map((e) => e.version)).toEqual([9, 10, 11])
    expect(middle.items[0]!.meta).toEqual({ correlationId: published[8]!.meta.correlationId, sourcePosition: published[8]!.position })
    // The position just before a message's reads from that message.
    expect((await reader.read(positionBefore(at(3)), 2)).items.map((e) => e.position)).toEqual([at(3), at(4)])
    expect(await reader.read(at(11), 5)).toEqual({ items: [], next: at(11) })
    // After the end of the stream is nothing a reader can have read: the broker lost messages (see below).
    expect(await rejection(reader.read('0-999', 5))).toMatchObject({ code: 'BROKER_LOST_MESSAGES' })
    expect((await readAll(reader, START, 4)).map((e) => e.id)).toEqual(published.map((e) => e.id))
    // The other partitions hold nothing of this source.
    expect(await transport.partition(source, 0, 'offsets-test').read(START, 10)).toEqual({ items: [], next: START })

    expect(await rejection(reader.read('nope', 10))).toBeInstanceOf(InvalidPosition)
    expect(await rejection(reader.read('12-3', 10))).toBeInstanceOf(InvalidPosition) // not a stream position
    expect(await rejection(reader.lag('1-2-3'))).toBeInstanceOf(InvalidPosition)
    await expect(reader.read(START, 0)).rejects.toThrow(RangeError)
    expect(() => transport.partition(source, PARTITIONS, 'x')).toThrow(RangeError)
    expect(() => transport.partition(source, 0, '')).toThrow(RangeError)
  })

  it('re-positions whenever a read does not continue the last page: a page not committed, a rewind, another instance', async () => {
    const source = await declare('reposition')
    const key = keyIn(3)
    const published = Array.from({ length: 25 }, (_, i) => envelope(source, key, i + 1))
    const others = events(source, 25, 9, 'other') // most in other partitions, some in this one
    await transport.publisher().publish(source, [...published, ...others])
    const mine = [...published, ...others].filter((e) => partitionOf(e.key, PARTITIONS) === 3)
    const versions = (items: Envelope[]) => items.map((e) => e.version)
    const reader = transport.partition(source, 3, 'board.reposition-test')

    const p1 = await reader.read(START, 5)
    const p2 = await reader.read(p1.next, 5)
    const p3 = await reader.read(p2.next, 5)
    expect([p1, p2, p3].map((p) => versions(p.items))).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15],
    ])
    // The third page was not committed (its transaction failed): asked again, it comes again.
    expect(await reader.read(p2.next, 5)).toEqual(p3)
    // Part of a page committed: what follows is delivered again.
    expect(versions((await reader.read(p3.items[1]!.position!, 4)).items)).toEqual([13, 14, 15, 16])
    // A rebuild reads from START again, everything.
    const rebuilt = await reader.read(START, 100)
    expect(rebuilt.items.map((e) => e.id)).toEqual(mine.map((e) => e.id))
    expect(await reader.read(rebuilt.next, 100)).toEqual({ items: [], next: rebuilt.next })

    // Another instance of the consumer (a restarted process) starts at its checkpoint; the first goes on.
    const restarted = transport.partition(source, 3, 'board.reposition-test')
    expect(versions((await restarted.read(p2.next, 3)).items)).toEqual([11, 12, 13])
    expect(versions((await reader.read(p3.next, 3)).items)).toEqual([16, 17, 18])
    await restarted.close()
  })

  it('refuses to read after the end of a stream that lost messages, instead of skipping what takes their offsets', async () => {
    const source = await declare('lost')
    const key = keyIn(1)
    await transport.publisher().publish(source, Array.from({ length: 10 }, (_, i) => envelope(source, key, i + 1)))
    const read = await readAll(transport.partition(source, 1, 'lost-test'))
    expect(read).toHaveLength(10)
    // The stream comes back shorter (a node that lost its tail; here, deleted and made again).
    await rabbit.queueDelete({ queue: transport.queueOf(source, 1) })
    await transport.declare(source)
    await transport.publisher().publish(source, Array.from({ length: 3 }, (_, i) => envelope(source, key, i + 11)))
    // A reader going on from its checkpoint (a restarted process) would skip those 3: it says so instead.
    const restarted = transport.partition(source, 1, 'lost-test')
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await rejection(restarted.read(read.at(-1)!.position!, 100))).toMatchObject({ kind: 'unavailable', code: 'BROKER_LOST_MESSAGES' })
    }
    // Rebuilt (read from the start), the consumer gets them; a reader within the stream goes on as before.
    expect((await restarted.read(START, 100)).items.map((e) => e.version)).toEqual([11, 12, 13])
    const within = await restarted.read(read[1]!.position!, 100)
    expect(within.items.map((e) => e.version)).toEqual([13])
  })

  it('turns a message that is not an envelope into tidings.Malformed at its position', async () => {
    const source = await declare('malformed')
    const queue = transport.queueOf(source, 0)
    const channel = await rabbit.acquire()
    await channel.confirmSelect()
    await channel.basicPublish({ routingKey: queue }, Buffer.from('not json at all'))
    await channel.basicPublish({ routingKey: queue }, Buffer.from(JSON.stringify({ id: 42, key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z' })))
    await channel.basicPublish({ routingKey: queue }, Buffer.from(JSON.stringify({ ...envelope(source, 'k-nul', 1), data: { text: 'a\u0000b' } })))
    await channel.basicPublish({ routingKey: queue }, Buffer.alloc(0))
    // A body with a JSON content type (the client parses it) that is an envelope all the same.
    const typed = envelope(source, keyIn(0), 1)
    await channel.basicPublish({ routingKey: queue, contentType: 'application/json' }, Buffer.from(JSON.stringify(typed)))
    await channel.close()
    const good = envelope(source, keyIn(0), 2)
    await transport.publisher().publish(source, [good])

    const items = await readAll(transport.partition(source, 0, 'malformed-test'))
    expect(items.map((e) => e.type)).toEqual([MALFORMED_TYPE, MALFORMED_TYPE, MALFORMED_TYPE, MALFORMED_TYPE, typed.type, good.type])
    expect(items.map((e) => e.position)).toEqual(['0-1', '0-2', '0-3', '0-4', '0-5', '0-6'])
    const [text, noId, nul, empty, parsed, ok] = items as [Envelope, Envelope, Envelope, Envelope, Envelope, Envelope]
    expect(text).toEqual({
      id: `malformed:${source}#0:0-1`,
      type: MALFORMED_TYPE,
      source,
      key: 'malformed',
      position: '0-1',
      occurredAt: expect.any(String),
      data: { reason: 'Malformed envelope: not JSON', raw: 'not json at all' },
      meta: {},
    })
    expect(noId).toMatchObject({ key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z', data: { reason: 'Malformed envelope: id' } })
    expect(nul).toMatchObject({ key: 'k-nul', data: { reason: 'Malformed envelope: a character PostgreSQL cannot store' } })
    expect((nul.data as { raw: string }).raw).not.toContain('\u0000')
    expect(empty).toMatchObject({ id: `malformed:${source}#0:0-4`, data: { reason: 'Malformed envelope: not JSON', raw: '' } })
    expect(parsed).toEqual(delivered(typed, '0-5'))
    expect(ok).toEqual(delivered(good, '0-6'))
  })

  it('rejects a publish that is not confirmed: a source never declared, a queue deleted under it', async () => {
    const publisher = transport.publisher()
    // A new connection checks the source's queues before its first batch: nothing is sent.
    const undeclared = newSource('undeclared')
    const missing = await rejection(publisher.publish(undeclared, events(undeclared, 5, 2)))
    expect(missing).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE', message: expect.stringContaining('NOT_FOUND') })

    // One partition's queue goes away after that: its messages come back (mandatory), the batch fails,
    // though the other partitions took their events.
    const source = await declare('deleted')
    await publisher.publish(source, [envelope(source, keyIn(0), 1)])
    await rabbit.queueDelete({ queue: transport.queueOf(source, 1) })
    const batch = events(source, 40, 11)
    const returned = await rejection(publisher.publish(source, batch))
    expect(returned).toMatchObject({ kind: 'unavailable', message: expect.stringContaining(`NO_ROUTE: no queue ${transport.queueOf(source, 1)}`) })
    const zero = (await readAll(transport.partition(source, 0, 'deleted-test'))).slice(1)
    expect(zero.map((e) => e.id)).toEqual(batch.filter((e) => partitionOf(e.key, PARTITIONS) === 0).map((e) => e.id))

    // Declared again, the same publisher publishes the batch (the relay's retry); partition 0 has it twice.
    await transport.declare(source)
    await publisher.publish(source, batch)
    const one = await readAll(transport.partition(source, 1, 'deleted-test'))
    expect(one.map((e) => e.id)).toEqual(batch.filter((e) => partitionOf(e.key, PARTITIONS) === 1).map((e) => e.id))
    expect((await transport.partition(source, 0, 'deleted-test').lag(START)).events).toBe(1 + zero.length * 2)
  })

  it('fails a batch queued behind one whose queues were not up, without sending it; the next call starts afresh', async () => {
    const publisher = transport.publisher()
    const undeclared = newSource('undeclared')
    const source = await declare('behind')
    const batch = events(source, 8, 3)
    // Called back to back: the second batch waits for the first one's queue check, which fails.
    const first = rejection(publisher.publish(undeclared, events(undeclared, 5, 2)))
    const behind = rejection(publisher.publish(source, batch))
    expect(await first).toMatchObject({ code: 'BROKER_UNAVAILABLE', message: expect.stringContaining('NOT_FOUND') })
    expect(await behind).toMatchObject({ code: 'BROKER_UNAVAILABLE', message: expect.stringContaining('NOT_FOUND') })
    const lags = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => transport.partition(source, p, 'behind-test').lag(START)))
    expect(lags.map((lag) => lag.events)).toEqual([0, 0, 0, 0])

    // Told of the failure, the caller publishes again: on a new connection, as if nothing had happened.
    await publisher.publish(source, batch)
    const stored = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => readAll(transport.partition(source, p, 'behind-test'))))
    expect(stored.flat().map((e) => e.id).sort()).toEqual(batch.map((e) => e.id).sort())
  })

  // The contract suite checks long polls and lag; only positions past the end are RabbitMQ's own.
  it('reports no lag after the end of the stream', async () => {
    const source = await declare('lag')
    await transport.publisher().publish(source, [envelope(source, keyIn(0), 1)])
    expect(await transport.partition(source, 0, 'lag-test').lag('0-999999')).toEqual({ events: 0 })
  })

  it('closes: a reader ends its long poll with an empty page, the transport its readers and publishers', async () => {
    const own = await rabbitmqTransport({ url: SHARED, prefix: PREFIX, partitions: 2 })
    const source = newSource('close')
    declared.push(source)
    await own.declare(source)
    const publisher = own.publisher()
    await publisher.publish(source, [envelope(source, keyIn(0, 2), 1)])
    const reader = own.partition(source, 0, 'close-test')
    const head = (await reader.read(START, 10)).next
    const polling = reader.read(head, 10, { waitMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await reader.close()
    expect(await polling).toEqual({ items: [], next: head })
    expect(await reader.read(START, 10)).toEqual({ items: [], next: START })

    const other = own.partition(source, 0, 'close-test')
    const waiting = other.read(head, 10, { waitMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await own.close()
    expect(await waiting).toEqual({ items: [], next: head })
    expect(await rejection(publisher.publish(source, [envelope(source, keyIn(0, 2), 2)]))).toMatchObject({ kind: 'unavailable' })
    await own.close() // twice is fine
  })
})
