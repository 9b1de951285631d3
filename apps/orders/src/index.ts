export { composeOrders, ordersServices, type Orders, type OrdersOptions } from './orders'
export { PAYMENT_TIMEOUT_ENV, paymentTimeoutOf } from './order/payment-timeout'

// The commands' request bodies, as the routes check them.
export { PlaceOrderBody, ShippingAddressBody } from './order/order.routes'
export { CreditBody } from './payment/payment.routes'
export { orderStatusExplorer } from './order-status/order-status.explorer'

// What other services may know: the feeds and the state their full-state events carry.
export { ORDER_SOURCE, type Order } from './order/order.contracts'
export { PAYMENT_SOURCE } from './payment/payment.contracts'
export { DELIVERY_SOURCE } from './delivery/delivery.contracts'

// The order-status view: its projection and its two stores.
export { orderStatusProjection } from './order-status/order-status.projection'
export type { OrderStatusStore } from './order-status/order-status'
export { orderStatusMigrations, PgOrderStatusStore } from './order-status/pg-order-status.store'
export { MariaDbOrderStatusStore } from './order-status/mariadb-order-status.store'

// The services as processes of their own, behind a gateway.
export { ORDERS_DELIVERY_URL, ORDERS_ORDER_URL, ORDERS_PAYMENT_URL, ordersProcesses } from './orders.processes'
export { ordersGatewayRoutes } from './orders.gateway-routes'
