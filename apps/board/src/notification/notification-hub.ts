import type { Notification } from './notification'

type Listener = (notification: Notification) => void

/** How many streams one member may hold open in one process, unless told otherwise. */
export const DEFAULT_STREAMS_PER_MEMBER = 5

/**
 * Hands newly committed notifications to the recipients' open streams in this process, and holds each
 * member to `maxStreamsPerMember` open streams (per process: a member's streams on other instances count
 * there), so that one token cannot pin an unbounded number of connections and listeners.
 */
export class NotificationHub {
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly closing = new AbortController()
  readonly maxStreamsPerMember: number

  constructor(options: { maxStreamsPerMember?: number } = {}) {
    this.maxStreamsPerMember = options.maxStreamsPerMember ?? DEFAULT_STREAMS_PER_MEMBER
    if (!Number.isSafeInteger(this.maxStreamsPerMember) || this.maxStreamsPerMember < 1) throw new RangeError(`maxStreamsPerMember must be a positive integer, not ${this.maxStreamsPerMember}`)
  }

  /** Aborted when the process shuts down, so that open streams end instead of holding the server open. */
  get closed(): AbortSignal {
    return this.closing.signal
  }

  close(): void {
    this.closing.abort()
  }

  /** Listens for the recipient's notifications; `undefined` when they hold as many streams as they may already. */
  subscribe(recipientId: string, listener: Listener): (() => void) | undefined {
    let set = this.listeners.get(recipientId)
    if (set && set.size >= this.maxStreamsPerMember) return undefined
    if (!set) this.listeners.set(recipientId, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.listeners.get(recipientId) === set) this.listeners.delete(recipientId)
    }
  }

  publish(notification: Notification): void {
    for (const listener of this.listeners.get(notification.recipientId) ?? []) listener(notification)
  }

  get streams(): number {
    let n = 0
    for (const set of this.listeners.values()) n += set.size
    return n
  }

  streamsOf(recipientId: string): number {
    return this.listeners.get(recipientId)?.size ?? 0
  }
}
