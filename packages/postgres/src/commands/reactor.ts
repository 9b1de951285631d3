import { consumer, type ConsumerDefinition, type Envelope, type EnvelopeMeta, type RetryPolicy } from '@tidings/core'
import type { Queryable } from '../database/database'
import { runHooks, type CommandTx, type UnitOfWork } from './unit-of-work'

/**
 * What a reactor keeps for one page of messages: `open` runs before the page's first message (e.g. lock, in
 * one statement, what they all touch), `close` after its last (e.g. write what they changed, one statement
 * per table). A page may hold a single message.
 */
export interface ReactorPage<P> {
  open(q: Queryable, messages: readonly Envelope[]): Promise<P>
  close(q: Queryable, page: P): Promise<void>
}

export interface ReactorDefinition<P = undefined> {
  name: string
  follows: readonly string[]
  /** Runs this service's commands in reaction to another service's event; records events as a command does. */
  react(tx: CommandTx, message: Envelope, page: P): Promise<void>
  page?: ReactorPage<P>
  retry?: Partial<RetryPolicy>
}

/**
 * A consumer that reacts to events with this service's own commands (a policy: "when an order is placed,
 * charge it"). The inbox row, the state change and the events it records commit in one transaction, so a
 * redelivered event changes nothing and a reaction is never lost. Its events carry the cause
 * (`causationId`, and the same `correlationId`), and wake the feed's readers once committed.
 * A page of messages is applied together: each reacts on its own, and the events of all go to the outbox
 * in one statement. Run its subscription in the same database as the unit of work.
 */
export function reactor<P = undefined>(uow: UnitOfWork, definition: ReactorDefinition<P>): ConsumerDefinition<Queryable> {
  const recordedBy = new Map<string, Envelope[]>()
  const hooksBy = new Map<string, Array<() => void>>()
  const reactAll = async (q: Queryable, messages: Envelope[]): Promise<void> => {
    // What an earlier attempt recorded or asked for (its transaction rolled back after this ran) is not this attempt's.
    for (const message of messages) {
      recordedBy.delete(message.id)
      hooksBy.delete(message.id)
    }
    const shared = uow.sharing(q)
    const page = definition.page ? await definition.page.open(q, messages) : (undefined as P)
    for (const message of messages) await shared.run((tx) => definition.react(tx, message, page), causedBy(message))
    if (definition.page) await definition.page.close(q, page)
    const recorded = await shared.append()
    const hooks = shared.afterCommit()
    messages.forEach((message, i) => {
      if (recorded[i]!.length > 0) recordedBy.set(message.id, recorded[i]!)
      if (hooks[i]!.length > 0) hooksBy.set(message.id, hooks[i]!)
    })
  }
  return consumer<Queryable>({
    name: definition.name,
    follows: definition.follows,
    ...(definition.retry ? { retry: definition.retry } : {}),
    handle: (q, message) => reactAll(q, [message]),
    handleBatch: reactAll,
    afterCommit(messages) {
      runHooks(
        messages.flatMap((m) => {
          const hooks = hooksBy.get(m.id) ?? []
          hooksBy.delete(m.id)
          return hooks
        }),
      )
      const events = messages.flatMap((m) => {
        const recorded = recordedBy.get(m.id) ?? []
        recordedBy.delete(m.id)
        return recorded
      })
      if (events.length > 0) void uow.committed(events)
    },
  })
}

function causedBy(message: Envelope): EnvelopeMeta {
  return { causationId: message.id, correlationId: message.meta.correlationId ?? message.id }
}
