import type { Alerts, Clock } from '@tidings/core'
import { scheduleMessage, type CommandTx, type Queryable, type ScheduledHandler } from '@tidings/postgres'
import { paymentFailed, type Order } from './order'
import type { OrderRepository } from './order.repository'

/** The scheduled message that fails an order still unpaid when it comes due. */
export const PAYMENT_OVERDUE = 'orders.PaymentOverdue'
/** `ORDERS_PAYMENT_TIMEOUT_MS`: how long a placed order waits for payment to answer (default two minutes). */
export const PAYMENT_TIMEOUT_ENV = 'ORDERS_PAYMENT_TIMEOUT_MS'
export const DEFAULT_PAYMENT_TIMEOUT_MS = 120_000

export function paymentTimeoutOf(env: Record<string, string | undefined>): number | undefined {
  const value = env[PAYMENT_TIMEOUT_ENV]
  if (!value) return undefined
  const ms = Number(value)
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${PAYMENT_TIMEOUT_ENV} must be a positive whole number of milliseconds, not "${value}"`)
  return ms
}

/** Placing an order sets its payment's deadline, in the same transaction: no order without one. */
export function paymentDeadline(schema: string, timeoutMs = DEFAULT_PAYMENT_TIMEOUT_MS): (tx: Queryable, order: Order) => Promise<void> {
  return (tx, order) =>
    scheduleMessage(tx, schema, {
      id: `${PAYMENT_OVERDUE}:${order.orderId}`,
      type: PAYMENT_OVERDUE,
      key: order.orderId,
      data: { orderId: order.orderId },
      dueAt: new Date(new Date(order.placedAt).getTime() + timeoutMs),
    })
}

/**
 * A payment that failed for good (its reaction dead-lettered) or never answered (payment down) leaves the
 * order PLACED: when the deadline comes the order fails instead of hanging, payment hears it (and gives
 * back a charge that came after all), and an alert says so. An order paid or closed meanwhile is left alone.
 */
export function paymentOverdue(orders: OrderRepository, clock: Clock, alerts: Alerts): ScheduledHandler {
  return async (tx: CommandTx, message) => {
    const { orderId } = message.data as { orderId: string }
    const order = await orders.byId(tx, orderId, { lock: true })
    if (!order) return
    const { state, events } = paymentFailed(order, clock.now())
    if (events.length === 0) return
    await orders.save(tx, state)
    tx.record(...events)
    // Once committed: a delivery that rolls back (its batch failed, and it is delivered again alone) says nothing.
    tx.afterCommit(() =>
      alerts.raise({
        kind: 'deadline_missed',
        code: 'ORDER_PAYMENT_OVERDUE',
        where: 'orders.order',
        message: 'an order got no payment in time and has failed',
        details: { orderId, placedAt: order.placedAt },
      }),
    )
  }
}
