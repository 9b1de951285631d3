export { composeOrders, ordersServices, type Orders, type OrdersOptions } from './orders'
