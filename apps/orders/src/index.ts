export { composeOrders, ordersServices, type Orders, type OrdersOptions } from './orders'
export { orderStatusExplorer } from './order-status/order-status.explorer'
