import { consumer, type Envelope } from '@tidings/core'
import type { Queryable } from '@tidings/postgres'
import { DELIVERY_SOURCE } from '../delivery/delivery.contracts'
import { ORDER_SOURCE } from '../order/order.contracts'
import { PAYMENT_SOURCE } from '../payment/payment.contracts'
import { changeOf, type OrderStatusChange, type OrderStatusStore } from './order-status'

export const ORDER_STATUS_CONSUMER = 'order-status.view'

/** Follows the three services' feeds and keeps one row per order; a page is applied in one batch. */
export function orderStatusProjection(store: OrderStatusStore) {
  const changesOf = (messages: Envelope[]) => messages.map(changeOf).filter((c): c is OrderStatusChange => c !== undefined)
  return consumer<Queryable>({
    name: ORDER_STATUS_CONSUMER,
    follows: [ORDER_SOURCE, PAYMENT_SOURCE, DELIVERY_SOURCE],
    handle: (tx, message) => store.apply(tx, changesOf([message])),
    handleBatch: (tx, messages) => store.apply(tx, changesOf(messages)),
    reset: (tx) => store.clear(tx),
  })
}
