import type { Notification } from './notification'

type Listener = (notification: Notification) => void

/** Hands newly committed notifications to the recipients' open streams in this process. */
export class NotificationHub {
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly closing = new AbortController()

  /** Aborted when the process shuts down, so that open streams end instead of holding the server open. */
  get closed(): AbortSignal {
    return this.closing.signal
  }

  close(): void {
    this.closing.abort()
  }

  subscribe(recipientId: string, listener: Listener): () => void {
    let set = this.listeners.get(recipientId)
    if (!set) this.listeners.set(recipientId, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(recipientId)
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
}
