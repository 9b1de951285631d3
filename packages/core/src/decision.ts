import type { Event } from './envelope'

/** What a pure decision returns: the next state and the events it recorded. */
export interface Decision<S, E extends Event = Event> {
  state: S
  events: E[]
}

export function decide<S, E extends Event>(state: S, ...events: E[]): Decision<S, E> {
  return { state, events }
}
