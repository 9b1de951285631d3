import * as z from 'zod'
import { ValidationFailed } from '@tidings/core'
import type { ConsoleExplorer, ExplorerCell } from '@tidings/console'
import { uuid } from '@tidings/http'
import type { OrderStatusStore, OrderStatusView } from './order-status'

const Query = z.object({ orderId: uuid.optional(), customerId: uuid.optional() })

/** The order-status view in the operations console: find an order by its id, or a customer's orders. */
export function orderStatusExplorer(store: OrderStatusStore): ConsoleExplorer {
  return {
    name: 'order-status',
    title: 'Order status',
    fields: [
      { name: 'orderId', label: 'Order id', placeholder: 'UUID' },
      { name: 'customerId', label: 'Customer id' },
    ],
    async search(query) {
      const parsed = Query.safeParse(query)
      if (!parsed.success) throw new ValidationFailed(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })), describe(parsed.error.issues))
      const { orderId, customerId } = parsed.data
      const found = orderId ? [await store.get(orderId)].filter((v): v is OrderStatusView => v !== undefined && (!customerId || v.customerId === customerId)) : await store.byCustomer(customerId!)
      return found.map(row)
    },
  }
}

function describe(issues: z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') === 'orderId' ? 'Order id' : 'Customer id'}: ${i.message}`).join('; ')
}

function row(view: OrderStatusView): Record<string, ExplorerCell> {
  return {
    order: view.orderId,
    customer: view.customerId,
    total: view.total,
    order_status: view.orderStatus,
    payment: view.paymentStatus,
    delivery: view.deliveryStatus,
    address: view.shippingAddress,
    updated: view.updatedAt,
  }
}
