import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { parsePosition, partitionOf, partitionSource, START, type Envelope, type Position } from '@tidings/core'
import { keyInPartition, readToEnd as readAll, rejectionOf as rejection, serviceReachable, testEnvelope as envelope, testEvents as events } from '@tidings/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MALFORMED_TYPE } from '@tidings/core'
import { consumerName, natsTransport, partitionSubject, streamName, type NatsTransport } from './index'

const SHARED = 'nats://127.0.0.1:4222'
const PARTITIONS = 4
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
let sources = 0
/** Every test its own source, so runs and test files never share a stream. */
const newSource = (label: string): string => `t${run}-${++sources}.${label}`

const keyIn = (partition: number, partitions = PARTITIONS, prefix = 'k'): string => keyInPartition(partition, partitions, prefix)

const seqOf = (position: Position): number => Number(parsePosition(position).seq)


describe.runIf(await serviceReachable('NATS', 4222))('NatsTransport (shared server)', () => {
  let transport: NatsTransport
  let nc: NatsConnection
  let jsm: JetStreamManager
  const declared: string[] = []

  const declare = async (label: string): Promise<string> => {
    const source = newSource(label)
    await transport.declare(source)
    declared.push(source)
    return source
  }

  beforeAll(async () => {
    transport = await natsTransport({ servers: SHARED, partitions: PARTITIONS, name: 'tidings-test' })
    nc = await connect({ servers: SHARED })
    jsm = await jetstreamManager(nc)
  })

  afterAll(async () => {
    await transport?.close()
    for (const source of declared) await jsm.streams.delete(streamName(source)).catch(() => {})
    await nc?.close()
  })

  it('declares a stream per source, and declaring again (or with other settings) is fine', async () => {
    const source = await declare('declare')
    await transport.declare(source)
    const info = await jsm.streams.info(streamName(source))
    expect(info.config.name).toBe(`TIDINGS_t${run}-${sources}_declare`)
    expect(info.config.subjects).toEqual([`tidings.${source}.*`])
    expect(info.config.storage).toBe('file')
    expect(info.config.duplicate_window).toBe(120_000 * 1e6)
    expect(info.config.max_age).toBe(7 * 24 * 3600 * 1e9)

    const other = await natsTransport({ servers: SHARED, duplicateWindowMs: 60_000 })
    try {
      await other.declare(source)
      expect((await jsm.streams.info(streamName(source))).config.duplicate_window).toBe(60_000 * 1e6)
    } finally {
      await other.close()
    }
  })

  it('puts each key in its partition in publish order, and publishing again adds nothing', async () => {
    const source = await declare('order')
    const published = events(source, 300, 37)
    const publisher = transport.publisher()
    await publisher.publish(source, published)

    const read: Envelope[][] = []
    for (let p = 0; p < PARTITIONS; p++) read.push(await readAll(transport.partition(source, p, 'order-test'), START, 64))
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = published.filter((e) => partitionOf(e.key, PARTITIONS) === p)
      expect(expected.length).toBeGreaterThan(0)
      expect(read[p]!.map((e) => e.id)).toEqual(expected.map((e) => e.id))
      const seqs = read[p]!.map((e) => seqOf(e.position!))
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      expect(new Set(seqs).size).toBe(seqs.length)
      const versions = new Map<string, number>()
      for (const e of read[p]!) {
        expect(e.version).toBe((versions.get(e.key) ?? 0) + 1)
        versions.set(e.key, e.version!)
      }
    }

    await publisher.publish(source, published)
    await publisher.publish(source, published.slice(100, 150))
    expect((await jsm.streams.info(streamName(source))).state.messages).toBe(300)
    const again = await readAll(transport.partition(source, 0, 'order-test-2'))
    expect(again.map((e) => e.id)).toEqual(read[0]!.map((e) => e.id))
  })

  it('fails a batch queued behind a failed one without sending it, and the next publish goes out on a new connection', async () => {
    const undeclared = newSource('nowhere') // no stream takes its subjects: every publish is refused
    const source = await declare('behind')
    const publisher = transport.publisher()
    // More than the window (256): the failed batch is still sending when its refusals come back.
    const refused = rejection(publisher.publish(undeclared, events(undeclared, 300, 5)))
    const queued = rejection(publisher.publish(source, events(source, 20, 5)))
    expect(await refused).toMatchObject({ kind: 'unavailable' })
    expect(await queued).toMatchObject({ kind: 'unavailable' })
    expect((await jsm.streams.info(streamName(source))).state.messages).toBe(0)

    const later = events(source, 20, 5)
    await publisher.publish(source, later)
    expect((await jsm.streams.info(streamName(source))).state.messages).toBe(20)
    await publisher.close()
  })

  it('reads from START and from a middle offset, at most `limit`, keeping the producer position', async () => {
    const source = await declare('offsets')
    const key = keyIn(1)
    const published = Array.from({ length: 20 }, (_, i) => envelope(source, key, i + 1))
    await transport.publisher().publish(source, published)
    const reader = transport.partition(source, 1, 'offsets-test')
    expect(reader.source).toBe(partitionSource(source, 1))

    const all = await readAll(reader)
    expect(all.map((e) => e.id)).toEqual(published.map((e) => e.id))
    for (const [i, e] of all.entries()) {
      const { position, meta, ...rest } = published[i]!
      expect(e).toEqual({ ...rest, position: e.position, meta: { ...meta, sourcePosition: position } })
      expect(e.position).toMatch(/^0-[1-9][0-9]*$/)
    }

    const first = await reader.read(START, 7)
    expect(first.items.map((e) => e.id)).toEqual(published.slice(0, 7).map((e) => e.id))
    expect(first.next).toBe(all[6]!.position)
    const middle = await reader.read(all[9]!.position!, 5)
    expect(middle.items.map((e) => e.position)).toEqual(all.slice(10, 15).map((e) => e.position))
    expect(middle.next).toBe(all[14]!.position)
    const rest = await reader.read(middle.next, 100)
    expect(rest.items.map((e) => e.position)).toEqual(all.slice(15).map((e) => e.position))
    const empty = await reader.read(rest.next, 100)
    expect(empty).toEqual({ items: [], next: rest.next })
    await expect(reader.read('12-3', 10)).rejects.toMatchObject({ code: 'INVALID_POSITION' })
  })

  it("moves the broker-side consumer's ack floor to what the reader read after, and re-delivers on a rewind", async () => {
    const source = await declare('floor')
    const key = keyIn(3)
    await transport.publisher().publish(source, [
      ...Array.from({ length: 25 }, (_, i) => envelope(source, key, i + 1)),
      ...events(source, 25, 9, 'other'), // interleaved messages of other partitions
    ])
    const all = await readAll(transport.partition(source, 3, 'floor-scan'))
    const stream = streamName(source)
    const reader = transport.partition(source, 3, 'board.floor-test')
    const floorOf = async (r: { durable: string }): Promise<number> => (await jsm.consumers.info(stream, r.durable)).ack_floor.stream_seq
    const floor = () => floorOf(reader)
    const p1 = await reader.read(START, 5)
    expect(await floor()).toBe(0)
    const p2 = await reader.read(p1.next, 5)
    expect(await floor()).toBe(seqOf(p1.next))
    const p3 = await reader.read(p2.next, 5)
    expect(p3.items.map((e) => e.id)).toEqual(all.slice(10, 15).map((e) => e.id))
    expect(await floor()).toBe(seqOf(p2.next))
    const info = await jsm.consumers.info(stream, reader.durable)
    expect(info.config.filter_subject).toBe(partitionSubject(source, 3))
    expect(info.config.ack_policy).toBe('all')

    // A page not committed: read again from the same place, everything comes back.
    const retried = await reader.read(p2.next, 5)
    expect(retried.items.map((e) => e.id)).toEqual(p3.items.map((e) => e.id))
    expect(await floor()).toBe(seqOf(p2.next))

    // A rewind (a rebuild from START) re-delivers everything, without waiting for an ack timeout.
    const rebuilt = await reader.read(START, 100)
    expect(rebuilt.items.map((e) => e.id)).toEqual(all.map((e) => e.id))
    const tail = await reader.read(rebuilt.next, 100)
    expect(tail.items).toEqual([])
    expect(await floor()).toBe(seqOf(rebuilt.next))

    // Another instance (a restarted process) starting at its checkpoint: the floor says so at once.
    const restarted = transport.partition(source, 3, 'board.floor-test')
    const resumed = await restarted.read(all[9]!.position!, 5)
    expect(resumed.items.map((e) => e.id)).toEqual(all.slice(10, 15).map((e) => e.id))
    expect(await floorOf(restarted)).toBe(seqOf(all[9]!.position!))
    await restarted.read(resumed.next, 5)
    expect(await floorOf(restarted)).toBe(seqOf(resumed.next))
    expect(restarted.durable).not.toBe(reader.durable)
    expect(restarted.durable.startsWith(consumerName('board.floor-test', 3, ''))).toBe(true)
  })

  /** A source with `count` versions of one key in `partition`, and two instances' readers of one consumer. */
  const twoReaders = async (label: string, partition: number, count: number) => {
    const source = await declare(label)
    const key = keyIn(partition)
    await transport.publisher().publish(source, Array.from({ length: count }, (_, i) => envelope(source, key, i + 1)))
    return { source, a: transport.partition(source, partition, `${label}-test`), b: transport.partition(source, partition, `${label}-test`) }
  }

  it('skips nothing when another instance re-created the consumer in between (a lease that went and came back)', async () => {
    const { a, b } = await twoReaders('takeover', 0, 20)
    const first = await a.read(START, 5)
    // B takes over at the same checkpoint, reads a page it never commits, and goes away.
    expect((await b.read(first.next, 5)).items.map((e) => e.version)).toEqual([6, 7, 8, 9, 10])
    await b.close()
    // A holds the partition again: it continues right after its checkpoint, not after B's page.
    const resumed = await a.read(first.next, 5)
    expect(resumed.items.map((e) => e.version)).toEqual([6, 7, 8, 9, 10])
    expect((await a.read(resumed.next, 100)).items.map((e) => e.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 11))
  })

  it("reads from a consumer of its own: another instance's reads take nothing from it, and closing deletes it", async () => {
    const { source, a, b } = await twoReaders('own', 1, 30)
    const first = await a.read(START, 5)
    // B (an instance that has not noticed yet that it lost the partition) reads on and on from the same place.
    for (let after = first.next, n = 0; n < 3; n++) after = (await b.read(after, 5)).next
    // A continues right after its page, nothing skipped.
    const second = await a.read(first.next, 100)
    expect(second.items.map((e) => e.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 6))
    const names = async () => (await jsm.consumers.list(streamName(source)).next()).map((c) => c.name).sort()
    expect(await names()).toEqual([a.durable, b.durable].sort())
    await b.close()
    expect(await names()).toEqual([a.durable])
  })

  it('creates its consumer again when the server deleted it (unused for an hour), and goes on where it was', async () => {
    const source = await declare('gone')
    const key = keyIn(2)
    await transport.publisher().publish(source, Array.from({ length: 12 }, (_, i) => envelope(source, key, i + 1)))
    const reader = transport.partition(source, 2, 'gone-test')
    const first = await reader.read(START, 4)
    expect((await jsm.consumers.info(streamName(source), reader.durable)).config.inactive_threshold).toBe(3_600_000_000_000)
    await jsm.consumers.delete(streamName(source), reader.durable)
    const rest = await reader.read(first.next, 100)
    expect(rest.items.map((e) => e.version)).toEqual(Array.from({ length: 8 }, (_, i) => i + 5))
  })

  it('refuses to read after the end of a stream that lost messages, instead of skipping what reuses their sequences', async () => {
    const { source, a } = await twoReaders('lost', 3, 10)
    const read = await a.read(START, 100)
    expect(read.items).toHaveLength(10)
    // The stream comes back shorter (a server that lost its tail; here, deleted and made again).
    await jsm.streams.delete(streamName(source))
    await transport.declare(source)
    await transport.publisher().publish(source, Array.from({ length: 3 }, (_, i) => envelope(source, keyIn(3), i + 11)))
    // A reader going on from its checkpoint (a restarted process) would skip those 3: it says so instead.
    const restarted = transport.partition(source, 3, 'lost-test')
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await rejection(restarted.read(read.next, 100))).toMatchObject({ kind: 'unavailable', code: 'BROKER_LOST_MESSAGES' })
    }
    // Rebuilt (read from the start), the consumer gets them.
    expect((await restarted.read(START, 100)).items.map((e) => e.version)).toEqual([11, 12, 13])
  })

  it('turns a message that is not an envelope into tidings.Malformed at its position', async () => {
    const source = await declare('malformed')
    const subject = partitionSubject(source, 0)
    const js = jetstream(nc)
    await js.publish(subject, 'not json at all')
    await js.publish(subject, JSON.stringify({ id: 42, key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z' }))
    await js.publish(subject, JSON.stringify({ ...envelope(source, 'k-nul', 1), data: { text: 'a\u0000b' } }))
    const good = envelope(source, keyIn(0), 1)
    await transport.publisher().publish(source, [good])

    const items = await readAll(transport.partition(source, 0, 'malformed-test'))
    expect(items.map((e) => e.type)).toEqual([MALFORMED_TYPE, MALFORMED_TYPE, MALFORMED_TYPE, good.type])
    const [text, noId, nul, ok] = items as [Envelope, Envelope, Envelope, Envelope]
    expect(text).toEqual({
      id: `malformed:${source}#0:${text.position}`,
      type: MALFORMED_TYPE,
      source,
      key: 'malformed',
      position: text.position,
      occurredAt: expect.any(String),
      data: { reason: 'Malformed envelope: not JSON', raw: 'not json at all' },
      meta: {},
    })
    expect(noId).toMatchObject({ key: 'k-bad', occurredAt: '2026-01-02T03:04:05.000Z', data: { reason: 'Malformed envelope: id' } })
    expect(nul).toMatchObject({ key: 'k-nul', data: { reason: 'Malformed envelope: a character PostgreSQL cannot store' } })
    expect(ok.id).toBe(good.id)
    expect(items.map((e) => seqOf(e.position!))).toEqual([1, 2, 3, 4])
  })

  // The contract suite checks long polls and lag; only positions past the end are NATS's own.
  it('reports no lag after the end of the stream', async () => {
    const source = await declare('lag')
    await transport.publisher().publish(source, [envelope(source, keyIn(0), 1)])
    expect(await transport.partition(source, 0, 'lag-test').lag('0-999999')).toEqual({ events: 0 })
  })
})
