/** What other services may know of the order service: its feed and its events (full order state). */
export const ORDER_SOURCE = 'orders.order'
export type { Order, OrderCanceled, OrderEvent, OrderItem, OrderPlaced, OrderStatus, ShippingAddressChanged } from './order'
