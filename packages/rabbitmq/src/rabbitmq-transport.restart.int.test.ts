import { partitionOf, START, type Envelope, type Position } from '@tidings/core'
import { keyInPartition, readToEnd as readAll, rejectionOf as rejection, serverInstalled, startRabbitMqServer, testEnvelope as envelope, testEvents as events, whenUp } from '@tidings/testing'
import { describe, expect, it } from 'vitest'
import { rabbitmqTransport } from './index'

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`
const newSource = (label: string): string => `test.${label}${run}`
const keyIn = (partition: number, partitions: number, prefix = 'k'): string => keyInPartition(partition, partitions, prefix)


describe.runIf(serverInstalled('rabbitmqctl'))('RabbitMqTransport across a broker restart', () => {
  it('fails with kind unavailable while the server is down, then the same publisher and readers go on', { timeout: 120_000 }, async () => {
    const server = await startRabbitMqServer()
    const transport = await rabbitmqTransport({ url: server.url, partitions: 2, timeoutMs: 2_000 })
    try {
      const source = newSource('restart')
      await transport.declare(source)
      const publisher = transport.publisher()
      const before = events(source, 40, 7, 'r')
      await publisher.publish(source, before)
      const readers = [transport.partition(source, 0, 'restart-test'), transport.partition(source, 1, 'restart-test')]
      const seen: Envelope[][] = [[], []]
      const next: Position[] = [START, START]
      for (const p of [0, 1]) {
        const page = await readers[p]!.read(START, 10)
        seen[p]!.push(...page.items)
        next[p] = page.next
      }
      // Reader 1 has read all, and waits for more: a long poll in flight when the broker dies fails.
      seen[1]!.push(...(await readAll(readers[1]!, next[1]!)))
      next[1] = seen[1]!.at(-1)!.position!
      const polling = rejection(readers[1]!.read(next[1]!, 10, { waitMs: 60_000 }))
      await new Promise((resolve) => setTimeout(resolve, 100))

      await server.kill()
      expect(await polling).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })
      const after = events(source, 30, 7, 'r2')
      const failures = await Promise.all([
        rejection(publisher.publish(source, after)),
        rejection(readers[0]!.read(next[0]!, 10)),
        rejection(readers[1]!.read(next[1]!, 10, { waitMs: 1_000 })),
        rejection(readers[1]!.lag(next[1]!)),
        rejection(transport.declare(source)),
      ])
      for (const failure of failures) expect(failure).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })

      await server.restart()
      // The relay's way: publish the batch again until RabbitMQ confirms it (the streams came back with
      // the node: only confirmed messages count, and none of `after` was).
      await whenUp(() => publisher.publish(source, after), 400)
      for (const p of [0, 1]) seen[p]!.push(...(await whenUp(() => readAll(readers[p]!, next[p]!), 400)))

      // Nothing confirmed was lost, and per-key order held. (A publish that failed half-way would have
      // stored some of `after` all the same: repeats, which inboxes drop, after the first of each; the
      // publisher checks that the queues are up before its first batch on a new connection, so that a
      // recovering node fails the batch before anything of it is stored.)
      const everything = [...before, ...after]
      for (const p of [0, 1]) {
        expect([...new Set(seen[p]!.map((e) => e.id))]).toEqual(everything.filter((e) => partitionOf(e.key, 2) === p).map((e) => e.id))
        expect(seen[p]!.slice(0, before.filter((e) => partitionOf(e.key, 2) === p).length).map((e) => e.id)).toEqual(before.filter((e) => partitionOf(e.key, 2) === p).map((e) => e.id))
      }
      const stored = (await readers[0]!.lag(START)).events + (await readers[1]!.lag(START)).events
      expect(stored).toBe(seen[0]!.length + seen[1]!.length)
      // And a long poll works again.
      const last = seen[0]!.at(-1)!.position!
      const waiting = readers[0]!.read(last, 10, { waitMs: 20_000 })
      const more = envelope(source, keyIn(0, 2, 'x'), 1)
      await publisher.publish(source, [more])
      expect((await waiting).items.map((e) => e.id)).toEqual([more.id])

      // A transport cannot be opened while nothing answers: it says so instead of waiting forever.
      await server.stop()
      expect(await rejection(rabbitmqTransport({ url: server.url }))).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' })
    } finally {
      await transport.close()
      await server.cleanup()
    }
  })
})
