import {
  comparePositions,
  dependenciesOf,
  positionBefore,
  unmetDependency,
  type AppliedPosition,
  type ConsistencyToken,
  type Envelope,
  type Position,
} from '@tidings/core'
import type { Queryable } from '../database/database'
import { oldestPending, pendingKeys } from './inbox'

/**
 * Causal order across feeds for one consumer: which messages must wait for the positions they name
 * (`meta.after`) before they are applied, and which of its held messages may go. What the consumer has
 * applied of each feed is asked once per page or worker pass, however many messages name it.
 */
export class CausalGate {
  /**
   * Whether messages may be held in the inbox (set when one is held, and when a leader takes over; cleared
   * by the worker once none is left). While false, no page pays for looking.
   */
  holding = false
  /** Grows whenever a page holds messages, so the worker never clears `holding` for a hold it did not see. */
  holds = 0

  constructor(
    private readonly applied: AppliedPosition<Queryable>,
    private readonly schema: string,
    private readonly consumer: string,
  ) {}

  /** Some messages of a page were held: the worker must look for them. */
  held(): void {
    this.holds++
    this.holding = true
  }

  /**
   * Sorts one page of a lane, chunk by chunk in its transaction: a message naming a position not applied
   * yet is held, and so is every later message of a key that has one held (in the inbox, or earlier in
   * this page); other keys go on.
   */
  page(tx: Queryable, lane: string): (messages: Envelope[]) => Promise<{ ready: Envelope[]; held: Envelope[] }> {
    const heldKeys = new Set<string>()
    let oldestHeld: Position | undefined
    let lookedInInbox = false
    const applied = memoized(this.applied, tx)
    return async (messages) => {
      if (this.holding || heldKeys.size > 0) {
        for (const key of await pendingKeys(tx, this.schema, this.consumer, lane, messages.map((m) => m.key))) heldKeys.add(key)
      }
      if (this.holding && !lookedInInbox) {
        lookedInInbox = true
        oldestHeld = (await oldestPending(tx, this.schema, this.consumer, lane))?.position
      }
      const ready: Envelope[] = []
      const held: Envelope[] = []
      for (const message of messages) {
        if (heldKeys.has(message.key) || (await this.unmetInPage(message, lane, applied, oldestHeld))) {
          heldKeys.add(message.key)
          oldestHeld ??= message.position
          held.push(message)
        } else ready.push(message)
      }
      return { ready, held }
    }
  }

  /** For one pass of the worker over held messages: the first position each names that is not applied yet. */
  pass(db: Queryable): (message: Envelope) => Promise<ConsistencyToken | undefined> | undefined {
    const applied = memoized(this.applied, db)
    return (message) => (message.meta.after?.length ? unmetDependency(message, applied) : undefined)
  }

  /**
   * A message that names its own feed at or after its own position waits for itself: it is never
   * applied, and is dead-lettered at once rather than after the hold limit (only where the lane is the
   * whole feed, which is applied in order).
   */
  static waitsForItself(message: Envelope, lane: string): ConsistencyToken | undefined {
    if (lane !== message.source || message.position === undefined) return undefined
    return dependenciesOf(message).find((d) => d.source === message.source && comparePositions(d.position, message.position!) >= 0)
  }

  /**
   * Within a page, the message's own feed (a lane that is the whole feed) is applied in order up to the
   * message, but for what is held: a position on it before the message counts as applied once nothing at
   * or before it is held. Other feeds: how far the consumer has applied them.
   */
  private unmetInPage(message: Envelope, lane: string, applied: AppliedPosition<Queryable>, oldestHeld: Position | undefined) {
    if (!message.meta.after?.length) return undefined
    if (lane !== message.source || message.position === undefined) return unmetDependency(message, applied)
    const inOrderUpTo = positionBefore(message.position)
    const ownFeed = oldestHeld !== undefined && comparePositions(oldestHeld, inOrderUpTo) <= 0 ? positionBefore(oldestHeld) : inOrderUpTo
    return unmetDependency<Queryable>(message, (source, via) => (source === lane ? Promise.resolve(ownFeed) : applied(source, via)))
  }
}

/** Asks how far each feed is applied once, through `via`. */
function memoized(applied: AppliedPosition<Queryable>, via: Queryable): AppliedPosition<Queryable> {
  const asked = new Map<string, ReturnType<AppliedPosition<Queryable>>>()
  return (source) => {
    let answer = asked.get(source)
    if (!answer) asked.set(source, (answer = applied(source, via)))
    return answer
  }
}
