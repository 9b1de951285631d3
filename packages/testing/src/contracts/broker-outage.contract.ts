import { describe, expect, it } from 'vitest'
import { chainPartitions, inChain, partitionOf, START, type Envelope, type Position, type Transport } from '@tidings/core'
import { keyInPartition, readToEnd, rejectionOf, testEnvelope, testEvents, whenUp } from '../broker-fixtures'
import { serverInstalled } from '../servers/installed'
import type { ThrowawayServer } from '../servers/throwaway-server'

const PARTITIONS = 2
const unavailable = { kind: 'unavailable', code: 'BROKER_UNAVAILABLE' }

/**
 * What a broker's transport does while its server is down, on a throwaway server it kills and restarts:
 * a long poll in flight fails at once, publishing, reading and lag fail with kind `unavailable` (never
 * hang, never another kind), and after the restart the same publisher and readers go on — nothing
 * confirmed lost, each partition in order, a long poll works again — and a transport cannot be opened
 * while nothing answers (unless it waits for a server by design). Skipped where the server program is not installed (the transport contract
 * says so); the relay and consumers across a restart are the transport contract's.
 */
export function brokerOutageContract(
  name: string,
  command: string,
  start: () => Promise<ThrowawayServer & { url: string }>,
  /** A transport with `partitions` partitions, failing fast while the server is down. */
  connect: (url: string, partitions: number) => Promise<Transport>,
  broker: {
    /** Whether the broker drops a message whose id it has stored: else a retried publish may store repeats. */
    dropsRepeats: boolean
    /** How many times (50 ms apart) to try again while the restarted server recovers. */
    retries?: number
    timeoutMs?: number
    /** Opening the transport waits for a server that is not up yet (NATS), instead of failing at once. */
    waitsForServer?: boolean
    /** Checks of the broker's own, once the readers went on after the restart. */
    afterRestart?: (server: ThrowawayServer & { url: string }, source: string, readTo: Position[]) => Promise<void>
  },
): void {
  describe.runIf(serverInstalled(command))(`the ${name} transport across a broker outage`, () => {
    it('fails with kind unavailable while the server is down, then the same publisher and readers go on', { timeout: broker.timeoutMs ?? 60_000 }, async () => {
      const server = await start()
      const transport = await connect(server.url, PARTITIONS)
      try {
        const source = `test.outage${Date.now().toString(36)}`
        await transport.declare(source)
        const publisher = transport.publisher()
        const before = testEvents(source, 40, 7, 'r')
        const after = testEvents(source, 30, 7, 'r2')
        // As the relay publishes: to a broker that stores repeats, each partition's messages chained (the
        // relay's watermarks carry a partition's chain across pages; here one chain runs over both batches).
        const sent = broker.dropsRepeats ? [...before, ...after] : chainPartitions([...before, ...after], PARTITIONS, START)
        const [sentBefore, sentAfter] = [sent.slice(0, before.length), sent.slice(before.length)]
        await publisher.publish(source, sentBefore)
        const readers = [0, 1].map((p) => transport.partition(source, p, 'outage-test'))
        const seen: Envelope[][] = [[], []]
        const next: Position[] = [START, START]
        for (const p of [0, 1]) {
          const page = await readers[p]!.read(START, 10)
          seen[p]!.push(...page.items)
          next[p] = page.next
        }
        // Reader 1 has read all, and waits for more.
        seen[1]!.push(...(await readToEnd(readers[1]!, next[1]!)))
        next[1] = seen[1]!.at(-1)!.position!
        const polling = rejectionOf(readers[1]!.read(next[1]!, 10, { waitMs: 60_000 }))
        await new Promise((resolve) => setTimeout(resolve, 100))

        await server.kill()
        const killedAt = performance.now()
        // A long poll in flight when the broker dies fails then, not at the end of its wait.
        expect(await polling).toMatchObject(unavailable)
        expect(performance.now() - killedAt).toBeLessThan(30_000)
        const failures = await Promise.all([
          rejectionOf(publisher.publish(source, sentAfter)),
          rejectionOf(readers[0]!.read(next[0]!, 10)),
          rejectionOf(readers[1]!.read(next[1]!, 10, { waitMs: 1_000 })),
          rejectionOf(readers[1]!.lag(next[1]!)),
        ])
        for (const failure of failures) expect(failure).toMatchObject(unavailable)

        await server.restart()
        // The relay's way: publish the batch again until the broker confirms it.
        await whenUp(() => publisher.publish(source, sentAfter), broker.retries)
        for (const p of [0, 1]) seen[p]!.push(...(await whenUp(() => readToEnd(readers[p]!, next[p]!), broker.retries)))

        // Nothing confirmed was lost, each partition in order as a consumer applies it. A publish that failed
        // half-way while the server recovered may have stored some of `after` before the retry: repeats,
        // which inboxes drop; and RabbitMQ may have refused one and stored later ones, which the chain
        // makes consumers skip until the repeat comes in order.
        const everything = [...before, ...after]
        const inPartition = (p: number, events: Envelope[]) => events.filter((e) => partitionOf(e.key, PARTITIONS) === p).map((e) => e.id)
        for (const p of [0, 1]) {
          const ids = seen[p]!.map((e) => e.id)
          expect([...new Set(inChain(undefined, seen[p]!).kept.map((e) => e.id))]).toEqual(inPartition(p, everything))
          if (broker.dropsRepeats) expect(new Set(ids).size).toBe(ids.length)
        }
        const readTo = seen.map((items) => items.at(-1)!.position!)
        await broker.afterRestart?.(server, source, readTo)

        // A long poll works again: the next event ends it (behind late repeats of a retried publish, where
        // the broker stores repeats).
        const more = testEnvelope(source, keyInPartition(0, PARTITIONS, 'x'), 1)
        const waiting = (async () => {
          const got: Envelope[] = []
          for (let after = readTo[0]!; !got.some((e) => e.id === more.id); ) {
            const page = await readers[0]!.read(after, 10, { waitMs: 20_000 })
            if (page.items.length === 0) break
            got.push(...page.items)
            after = page.next
          }
          return got
        })()
        await publisher.publish(source, [more])
        const got = await waiting
        expect(got.at(-1)?.id).toBe(more.id)
        expect(got.slice(0, -1).filter((e) => broker.dropsRepeats || !after.some((a) => a.id === e.id))).toEqual([])

        // On the broker: each event once where it drops repeats, and lag counts exactly what is stored.
        for (const p of [0, 1]) {
          const stored = await readToEnd(transport.partition(source, p, 'outage-check'))
          const ids = stored.map((e) => e.id)
          expect([...new Set(ids)]).toEqual(inPartition(p, p === 0 ? [...everything, more] : everything))
          if (broker.dropsRepeats) expect(new Set(ids).size).toBe(ids.length)
          expect((await readers[p]!.lag(START)).events).toBe(stored.length)
        }

        // A transport cannot be opened while nothing answers: it says so instead of waiting forever.
        if (!broker.waitsForServer) {
          await server.stop()
          expect(await rejectionOf(connect(server.url, PARTITIONS))).toMatchObject(unavailable)
        }
      } finally {
        await transport.close()
        await server.cleanup()
      }
    })
  })
}
