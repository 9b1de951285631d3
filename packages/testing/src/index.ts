export * from './engines'
export * from './given-when-then'
export * from './eventually'
export * from './contracts/outbox-feed.contract'
