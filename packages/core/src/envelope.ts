/** The message every transport carries. `id` is the dedupe key everywhere. */
export interface Envelope<T extends string = string, D = unknown> {
  id: string
  type: T
  source: string
  key: string
  version?: number
  position?: string
  occurredAt: string
  data: D
  meta: EnvelopeMeta
}

export interface EnvelopeMeta {
  correlationId?: string
  causationId?: string
  traceparent?: string
  /** The event's position in its producer's outbox, kept when it travels through a broker (whose offsets become `position`). */
  sourcePosition?: string
  /**
   * Set by the relay for a broker without deduplication: the producer position of the message before this
   * one in its partition (or where the relay's page began). No event of the partition lies between the two,
   * so a consumer that has not reached it knows an earlier event is missing (see `partition-chain.ts`).
   */
  previousInPartition?: string
  /**
   * Positions on other feeds ("source@position") this event was written after: a consumer that follows one
   * of them applies the event only once it has applied that feed up to there (see `causal-order.ts`).
   */
  after?: string[]
}

/** An event as a decision records it: no id, source, time or position yet — the unit of work adds those. */
export interface Event<T extends string = string, D = unknown> {
  type: T
  key: string
  version?: number
  data: D
  /** Overrides the unit of work's meta for this event (e.g. a saga's command carries the saga as its correlation). */
  meta?: EnvelopeMeta
  /** Its id, when the caller must know it before the commit (a UUID; e.g. the command a saga awaits a reply to). */
  id?: string
}

export type EventOf<E extends Envelope> = Event<E['type'], E['data']>

/** Builds a recorded event; `version` is taken from the data when it carries one (zero-payload events do). */
export function event<E extends Event>(type: E['type'], key: string, data: E['data'], version?: number): E {
  const v = version ?? versionIn(data)
  return (v === undefined ? { type, key, data } : { type, key, version: v, data }) as E
}

function versionIn(data: unknown): number | undefined {
  if (typeof data === 'object' && data !== null && 'version' in data) {
    const v = (data as { version: unknown }).version
    if (typeof v === 'number') return v
  }
  return undefined
}
