export * from './saga'
export * from './saga-machine'
