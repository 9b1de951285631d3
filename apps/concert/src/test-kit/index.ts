// What other packages' tests use of the concert system.
export { openQueueSocket, type QueueSocket } from './queue-socket'
