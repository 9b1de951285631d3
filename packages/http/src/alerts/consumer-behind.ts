import { silentLogger, type Alerts, type Logger } from '@tidings/core'
import type { Follower } from '@tidings/postgres'
import type { Worker } from '../host/service'

export interface ConsumerBehindOptions {
  alerts: Alerts
  /** The consumers of this process; only the one holding a subscription's lease is judged. */
  subscriptions: ReadonlyArray<Pick<Follower, 'name' | 'isActive' | 'lag'>>
  /** A consumer whose oldest unread event is older than this is behind (default 5 min). */
  behindMs?: number
  /** How often lag is checked (default 30 s). */
  everyMs?: number
  now?: () => number
  logger?: Logger
}

/**
 * Raises `consumer_behind` while a consumer's oldest unread event is older than the threshold: stuck on a
 * poison message, starved, or its process down for long. The notifier makes one message of the repeats.
 */
export class ConsumerBehindWatcher implements Worker {
  private timer?: NodeJS.Timeout
  private checking?: Promise<void>

  constructor(private readonly options: ConsumerBehindOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = undefined))
    }, this.options.everyMs ?? 30_000).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.checking
  }

  /** One round: every active consumer's lag, alerts for those behind. */
  async check(): Promise<void> {
    const { alerts, subscriptions, behindMs = 300_000, now = Date.now, logger = silentLogger } = this.options
    for (const subscription of subscriptions) {
      if (!subscription.isActive()) continue
      let lag
      try {
        lag = await subscription.lag()
      } catch (error) {
        logger.warn({ consumer: subscription.name, err: error }, 'alerts: could not read a consumer lag')
        continue
      }
      for (const [source, { events, oldestUnreadAt }] of Object.entries(lag)) {
        const behind = oldestUnreadAt ? now() - oldestUnreadAt.getTime() : 0
        if (behind <= behindMs) continue
        const behindSeconds = Math.round(behind / 1000)
        alerts.raise({
          kind: 'consumer_behind',
          code: 'CONSUMER_BEHIND',
          where: `${subscription.name} ← ${source}`,
          message: `${events} events unread, the oldest ${behindSeconds} s old`,
          details: { consumer: subscription.name, source, events, behindSeconds },
        })
      }
    }
  }
}
