import { Counter, Registry } from 'prom-client'
import { alertFingerprint, silentLogger, type Alert, type Alerts, type Logger } from '@tidings/core'
import { sleep } from '@tidings/postgres'
import type { Worker } from '../host/service'
import { slackText, type AlertMessage } from './slack-text'

export interface AlertNotifierOptions {
  /** Where alerts go, as Slack-compatible JSON (`{"text": …}`); without it they are only logged and counted. */
  webhookUrl?: string | undefined
  /** Alerts with one fingerprint within this long are one message, plus one with the count of repeats (default 5 min). */
  windowMs?: number
  /** The first alert of a fingerprint waits this long for its repeats before it goes out (default 2 s). */
  gatherMs?: number
  /** Messages waiting for delivery at most; more are dropped, logged and counted (default 100). */
  maxQueued?: number
  /** Distinct problems gathered at once at most; alerts of more are logged and counted, not sent (default 1,000). */
  maxOpenWindows?: number
  /** Deliveries tried per message before it is dropped (default 5), `retryBaseMs` apart and doubling (default 1 s). */
  attempts?: number
  retryBaseMs?: number
  /** A webhook that has not answered after this long has failed the attempt (default 5 s). */
  deliveryTimeoutMs?: number
  /** Distinct alerts kept for the console (default 50). */
  keepRecent?: number
  logger?: Logger
  /** Where its counters are registered (the process's metrics registry). */
  registry?: Registry
}

/** An alert as the console lists it: how often it came, first and last. */
export interface RecentAlert extends Alert {
  count: number
  firstAt: Date
  lastAt: Date
}

/** One fingerprint's open window: the first alert, how many came since the last message, its timers. */
interface Window {
  sample: Alert
  pending: number
  timers: NodeJS.Timeout[]
}

/**
 * Delivers alerts without ever being on the path of what raised them: `raise` logs, counts and queues, and
 * returns. Repeats of one fingerprint are gathered (the first message says how many came in its first
 * seconds, one more at the end of the window how many followed); the queue is bounded; a delivery is
 * retried with backoff, then dropped with a log line and a metric. Deliveries go one at a time, so a webhook
 * that hangs holds up only other alerts, never a request.
 */
export class AlertNotifier implements Alerts, Worker {
  private readonly windows = new Map<string, Window>()
  private readonly queue: AlertMessage[] = []
  private readonly recentAlerts = new Map<string, RecentAlert>()
  private sending?: Promise<void>
  private stopping = new AbortController()
  private readonly raised: Counter<'kind' | 'code'>
  private readonly delivered: Counter
  private readonly dropped: Counter<'reason'>

  constructor(private readonly options: AlertNotifierOptions = {}) {
    const registers = [options.registry ?? new Registry()]
    this.raised = new Counter({ name: 'tidings_alerts_raised_total', help: 'Alerts raised, by kind and code', labelNames: ['kind', 'code'] as const, registers })
    this.delivered = new Counter({ name: 'tidings_alerts_delivered_total', help: 'Alert messages the webhook accepted', registers })
    this.dropped = new Counter({ name: 'tidings_alerts_dropped_total', help: 'Alert messages given up on: queue_full, too_many_problems or undelivered', labelNames: ['reason'] as const, registers })
  }

  raise(alert: Alert): void {
    try {
      this.raised.inc({ kind: alert.kind, code: alert.code })
      this.logger.error({ alert: alert.kind, code: alert.code, where: alert.where, ...alert.details }, alert.message)
      this.remember(alert)
      if (this.options.webhookUrl && !this.stopping.signal.aborted) this.gather(alert)
    } catch {
      // An alert must never fail what raised it.
    }
  }

  /** The latest distinct alerts, newest first. */
  recent(): RecentAlert[] {
    return [...this.recentAlerts.values()].reverse()
  }

  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController()
  }

  /** Stops delivering: timers cleared, a delivery in flight aborted; what is still queued is dropped. */
  async stop(): Promise<void> {
    this.stopping.abort()
    for (const window of this.windows.values()) for (const timer of window.timers) clearTimeout(timer)
    this.windows.clear()
    this.queue.length = 0
    await this.sending
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger
  }

  private remember(alert: Alert): void {
    const fingerprint = alertFingerprint(alert)
    const now = new Date()
    const seen = this.recentAlerts.get(fingerprint)
    this.recentAlerts.delete(fingerprint)
    this.recentAlerts.set(fingerprint, { ...alert, count: (seen?.count ?? 0) + 1, firstAt: seen?.firstAt ?? now, lastAt: now })
    if (this.recentAlerts.size > (this.options.keepRecent ?? 50)) this.recentAlerts.delete(this.recentAlerts.keys().next().value!)
  }

  private gather(alert: Alert): void {
    const fingerprint = alertFingerprint(alert)
    const open = this.windows.get(fingerprint)
    if (open) {
      open.pending++
      return
    }
    if (this.windows.size >= (this.options.maxOpenWindows ?? 1_000)) {
      this.dropped.inc({ reason: 'too_many_problems' })
      return
    }
    const gatherMs = this.options.gatherMs ?? 2_000
    const windowMs = Math.max(this.options.windowMs ?? 300_000, gatherMs)
    const window: Window = { sample: alert, pending: 1, timers: [] }
    const flush = (repeat: boolean): void => {
      if (window.pending > 0) this.enqueue({ alert: window.sample, count: window.pending, repeat, windowMs })
      window.pending = 0
    }
    window.timers = [
      setTimeout(() => flush(false), gatherMs).unref(),
      setTimeout(() => {
        flush(true)
        this.windows.delete(fingerprint)
      }, windowMs).unref(),
    ]
    this.windows.set(fingerprint, window)
  }

  private enqueue(message: AlertMessage): void {
    if (this.queue.length >= (this.options.maxQueued ?? 100)) {
      this.dropped.inc({ reason: 'queue_full' })
      this.logger.warn({ alert: message.alert.kind, code: message.alert.code, where: message.alert.where }, 'alert dropped: the delivery queue is full')
      return
    }
    this.queue.push(message)
    this.sending ??= this.drain().finally(() => {
      this.sending = undefined
    })
  }

  private async drain(): Promise<void> {
    for (let message = this.queue.shift(); message && !this.stopping.signal.aborted; message = this.queue.shift()) await this.deliver(message)
  }

  private async deliver(message: AlertMessage): Promise<void> {
    const attempts = this.options.attempts ?? 5
    let lastError = ''
    for (let attempt = 1; attempt <= attempts && !this.stopping.signal.aborted; attempt++) {
      // A timer and a listener of our own, not AbortSignal.timeout/any: on Node 20 those can be collected
      // before they fire, and a hanging webhook would then hold the queue until stop().
      const attemptSignal = new AbortController()
      const timedOut = new AbortController()
      const timer = setTimeout(() => {
        timedOut.abort()
        attemptSignal.abort()
      }, this.options.deliveryTimeoutMs ?? 5_000)
      const stop = () => attemptSignal.abort()
      this.stopping.signal.addEventListener('abort', stop)
      try {
        const response = await fetch(this.options.webhookUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: slackText(message) }),
          signal: attemptSignal.signal,
        })
        await response.body?.cancel()
        if (response.ok) {
          this.delivered.inc()
          return
        }
        lastError = `HTTP ${response.status}`
      } catch (error) {
        lastError = timedOut.signal.aborted ? 'timeout' : error instanceof Error ? error.name : 'error'
      } finally {
        clearTimeout(timer)
        this.stopping.signal.removeEventListener('abort', stop)
      }
      if (attempt < attempts) await sleep((this.options.retryBaseMs ?? 1_000) * 2 ** (attempt - 1), this.stopping.signal)
    }
    this.dropped.inc({ reason: 'undelivered' })
    this.logger.warn({ alert: message.alert.kind, code: message.alert.code, where: message.alert.where, attempts, lastError }, 'alert dropped: the webhook did not take it')
  }
}
