import { consumer, type ConsumerDefinition, type Envelope, type RetryPolicy } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { CommandTx, UnitOfWork } from './unit-of-work'

export interface ReactorDefinition {
  name: string
  follows: readonly string[]
  /** Runs this service's commands in reaction to another service's event; records events as a command does. */
  react(tx: CommandTx, message: Envelope): Promise<void>
  retry?: Partial<RetryPolicy>
}

/**
 * A consumer that reacts to events with this service's own commands (a policy: "when an order is placed,
 * charge it"). The inbox row, the state change and the events it records commit in one transaction, so a
 * redelivered event changes nothing and a reaction is never lost. Its events carry the cause
 * (`causationId`, and the same `correlationId`), and wake the feed's readers once committed.
 * Run its subscription in the same database as the unit of work.
 */
export function reactor(uow: UnitOfWork, definition: ReactorDefinition): ConsumerDefinition<Queryable> {
  const recordedBy = new Map<string, Envelope[]>()
  return consumer<Queryable>({
    name: definition.name,
    follows: definition.follows,
    ...(definition.retry ? { retry: definition.retry } : {}),
    async handle(tx, message) {
      const meta = { causationId: message.id, correlationId: message.meta.correlationId ?? message.id }
      const { events } = await uow.within(tx, (commandTx) => definition.react(commandTx, message), meta)
      if (events.length > 0) recordedBy.set(message.id, events)
    },
    afterCommit(messages) {
      const events = messages.flatMap((m) => {
        const recorded = recordedBy.get(m.id) ?? []
        recordedBy.delete(m.id)
        return recorded
      })
      if (events.length > 0) void uow.committed(events)
    },
  })
}
