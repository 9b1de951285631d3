import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainPartitions, partitionOf, START, type Envelope } from '@tidings/core'
import { readToEnd, serverInstalled, startRabbitMqServer, testEvents, whenUp, type RabbitMqServer } from '@tidings/testing'
import { rabbitmqTransport, type RabbitMqTransport } from './rabbitmq-transport'

const PARTITIONS = 2

/**
 * A stream's writer restarted under a publisher (as RabbitMQ does while a node recovers): the channel
 * sends the new writer what the old one had not confirmed. RabbitMQ 3.10 resends it under the channel's
 * publish sequence numbers, which match the stream's deduplication only on a channel that publishes to
 * that one stream; on a channel shared by partitions the writer dropped later messages as repeats (and
 * confirmed them), stored the ones after, and never confirmed some resent ones: the batch stalled until
 * the confirm timeout, and its retry stored the dropped events behind later ones of their partition.
 */
describe.runIf(serverInstalled('rabbitmqctl'))('the RabbitMQ publisher when a stream restarts its writer', () => {
  let server: RabbitMqServer
  let transport: RabbitMqTransport
  beforeAll(async () => {
    server = await startRabbitMqServer()
    // A stall fails fast: the fix is that no confirm is left behind.
    transport = await rabbitmqTransport({ url: server.url, partitions: PARTITIONS, timeoutMs: 2_000, confirmTimeoutMs: 5_000 })
  }, 90_000)
  afterAll(async () => {
    await transport?.close()
    await server?.cleanup()
  })

  it('stores each partition once and in order, and confirms everything without a stall', { timeout: 90_000 }, async () => {
    const source = `test.writer${Date.now().toString(36)}`
    await transport.declare(source)
    const queue = transport.queueOf(source, 0)
    // Killed on the node itself, the moment partition 0 holds 20 messages: while the batch is in flight.
    await server.eval(
      `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"${queue}">>)), Name = amqqueue:get_name(Q), Writer = amqqueue:get_pid(Q), ` +
        `persistent_term:put(tidings_writer_killed, waiting), ` +
        `Kill = fun Kill(I) -> case osiris_counters:overview({osiris_writer, Name}) of ` +
        `#{offset := O} when O >= 20 -> exit(Writer, kill), persistent_term:put(tidings_writer_killed, O); ` +
        `_ when I > 60000 -> persistent_term:put(tidings_writer_killed, timeout); ` +
        `_ -> timer:sleep(1), Kill(I + 1) end end, spawn(fun() -> Kill(0) end), ok.`,
    )
    const events = chainPartitions(testEvents(source, 1_000, 7, 'k'), PARTITIONS, START)
    const publisher = transport.publisher()
    const failures: string[] = []
    // As the relay would: the batch again until it is confirmed (none should be needed).
    await whenUp(() => publisher.publish(source, events).catch((error: Error) => {
      failures.push(error.message)
      throw error
    }), 20)
    const killedAt = await server.eval('persistent_term:get(tidings_writer_killed).')
    const inPartition = (p: number) => events.filter((e) => partitionOf(e.key, PARTITIONS) === p).map((e) => e.id)
    // The writer was killed while partition 0 still lacked some of the batch.
    expect(Number(killedAt)).toBeLessThan(inPartition(0).length - 1)

    expect(failures).toEqual([])
    for (const p of [0, 1]) {
      const stored: Envelope[] = await whenUp(() => readToEnd(transport.partition(source, p, 'writer-restart'), START, 500))
      expect(stored.map((e) => e.id)).toEqual(inPartition(p))
    }
    await publisher.close()
  })
})
