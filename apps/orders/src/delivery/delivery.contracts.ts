/** What other services may know of the delivery service: its feed and its events (full delivery state). */
export const DELIVERY_SOURCE = 'orders.delivery'
export type { Delivery, DeliveryEvent, DeliveryStatus } from './delivery'
