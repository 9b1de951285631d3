import { describe, expect, it } from 'vitest'
import type { FeedLag } from '@tidings/core'
import { register as globalRegistry } from 'prom-client'
import { createMetrics, type WatchedSubscription } from './metrics'
import { sharedSample } from './shared-sample'

function fakeSubscription(name: string, lag: () => Promise<Record<string, FeedLag>>, active = true): WatchedSubscription {
  return { name, isActive: () => active, lag }
}

describe('metrics', () => {
  it('counts what consumers and the dispatcher report, in its own registry', async () => {
    const metrics = createMetrics()
    metrics.observer.handled?.('orders-view', 'shop.OrderPlaced.v1', 12)
    metrics.observer.handled?.('orders-view', 'shop.OrderPlaced.v1', 3)
    metrics.observer.retried?.('orders-view', 'shop.OrderPlaced.v1', 1, new Error('x'))
    metrics.observer.deadLettered?.('orders-view', 'shop.OrderPlaced.v1', new Error('x'))
    metrics.afterCommitFailed('shop.OrderPlaced.v1', new Error('cache down'))
    const text = await metrics.registry.metrics()
    const labels = 'consumer="orders-view",type="shop.OrderPlaced.v1"'
    expect(text).toContain(`tidings_consumer_handler_duration_seconds_count{${labels}} 2`)
    expect(text).toContain(`tidings_consumer_handler_duration_seconds_sum{${labels}} 0.015`)
    expect(text).toContain(`tidings_consumer_retries_total{${labels}} 1`)
    expect(text).toContain(`tidings_consumer_dead_lettered_total{${labels}} 1`)
    expect(text).toContain('tidings_after_commit_failures_total{type="shop.OrderPlaced.v1"} 1')
    expect(await globalRegistry.metrics()).not.toContain('tidings_')
    for (const name of text.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]!)) {
      expect(name.startsWith('tidings_')).toBe(true)
    }
  })

  it('computes subscription lag and activity when scraped, and forgets unwatched ones', async () => {
    const metrics = createMetrics()
    const oldest = new Date(Date.now() - 60_000)
    let calls = 0
    const stopWatching = metrics.watchSubscription(
      fakeSubscription('orders-view', async () => {
        calls++
        return { 'shop.orders': { events: 7, oldestUnreadAt: oldest }, 'shop.payments': { events: 0 } }
      }),
    )
    metrics.watchSubscription(fakeSubscription('orders-view', async () => ({ 'shop.orders': { events: 7, oldestUnreadAt: oldest } }), false))
    const text = await metrics.registry.metrics()
    expect(calls).toBe(1) // one lag() per scrape feeds both lag gauges
    expect(text).toContain('tidings_consumer_lag_events{subscription="orders-view",source="shop.orders"} 7')
    expect(text).toContain('tidings_consumer_lag_events{subscription="orders-view",source="shop.payments"} 0')
    expect(text).toContain('tidings_consumer_lag_seconds{subscription="orders-view",source="shop.payments"} 0')
    const seconds = Number(/tidings_consumer_lag_seconds\{subscription="orders-view",source="shop.orders"\} ([0-9.]+)/.exec(text)?.[1])
    expect(seconds).toBeGreaterThanOrEqual(60)
    expect(text).toContain('tidings_subscription_active{subscription="orders-view"} 1')
    stopWatching()
    expect(calls).toBe(1)
  })

  it('leaves out a source that fails and counts the failure', async () => {
    const warnings: object[] = []
    const metrics = createMetrics({ logger: { info: () => {}, warn: (o) => warnings.push(o), error: () => {} } })
    metrics.watchSubscription(fakeSubscription('broken', () => Promise.reject(new Error('db down'))))
    metrics.watchSubscription(fakeSubscription('fine', async () => ({ 'shop.orders': { events: 1 } })))
    metrics.watchFeed('shop.orders', { lag: () => Promise.reject(new Error('db down')) })
    const text = await metrics.registry.metrics()
    expect(text).not.toContain('tidings_consumer_lag_events{subscription="broken"')
    expect(text).toContain('tidings_consumer_lag_events{subscription="fine",source="shop.orders"} 1')
    expect(text).not.toContain('tidings_outbox_backlog{')
    expect(text).toContain('tidings_metrics_collect_errors_total{collector="subscription"} 1')
    expect(text).toContain('tidings_metrics_collect_errors_total{collector="feed"} 1')
    expect(warnings).toHaveLength(2)
  })

  it('shares one sample among concurrent callers, and samples again afterwards', async () => {
    let runs = 0
    const sample = sharedSample(async () => ++runs)
    expect(await Promise.all([sample(), sample(), sample()])).toEqual([1, 1, 1])
    expect(await sample()).toBe(2)
  })
})
