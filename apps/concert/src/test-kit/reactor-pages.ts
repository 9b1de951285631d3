import { uuidv7, type ConsumerDefinition, type Envelope } from '@tidings/core'
import { OutboxFeed, type Database, type Queryable } from '@tidings/postgres'
import { readAll, transactionsSettled } from '@tidings/testing'
import { PAYMENT_SOURCE } from '../payment/payment.contracts'

/** A command of the payment saga, as its participant receives it from the payment feed. */
export const paymentCommand = (type: string, key: string, data: object): Envelope => ({ id: uuidv7(), type, source: PAYMENT_SOURCE, key, occurredAt: new Date().toISOString(), data, meta: {} })

/**
 * Applies messages in one transaction as a subscription's page does (`handleBatch` for several, `handle` for
 * one); answers how many statements the consumer sent.
 */
export async function applyPage(db: Database, consumer: ConsumerDefinition<Queryable>, messages: readonly Envelope[]): Promise<number> {
  let statements = 0
  await db.transaction((tx) => {
    const counted: Queryable = { query: (sql, params) => (statements++, tx.query(sql, params)) }
    return messages.length > 1 ? consumer.handleBatch!(counted, [...messages]) : consumer.handle(counted, messages[0]!)
  })
  return statements
}

/** What a participant's feed answered to `commands`: [the command's index, type, data], by command, in the order recorded. */
export async function repliesTo(db: Database, schema: string, source: string, commands: readonly Envelope[]): Promise<Array<[number, string, unknown]>> {
  // The feed is read up to the horizon: other files' open transactions on the server would hide replies.
  await transactionsSettled(db)
  const replies = (await readAll(new OutboxFeed(db, schema, source))).map((e): [number, string, unknown] => [commands.findIndex((c) => c.id === e.meta.causationId), e.type, e.data])
  return replies.sort((a, b) => a[0] - b[0])
}

/** Applies `commands` to `paged` in pages of 1 to 8 (as `random` draws them), and to `single` one at a time. */
export async function inPagesAndOneByOne(commands: readonly Envelope[], random: () => number, paged: Applies, single: Applies): Promise<void> {
  for (let at = 0; at < commands.length; ) await paged.apply(commands.slice(at, (at += 1 + Math.floor(random() * 8))))
  for (const command of commands) await single.apply([command])
}

interface Applies {
  apply(page: readonly Envelope[]): Promise<unknown>
}

/** One of `xs`, as `random` draws it. */
export const picker =
  (random: () => number) =>
  <T>(xs: readonly T[]): T =>
    xs[Math.floor(random() * xs.length)]!
