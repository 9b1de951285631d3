import type { Decision } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { Write } from '../database/writes'
import type { CommandTx, Committed, UnitOfWork } from './unit-of-work'

/** Where an aggregate's state is kept: `saving` gives its write to send with the events (one statement), else `save` runs it. */
export interface StateStore<S> {
  save(tx: Queryable, state: S): Promise<void>
  saving?(state: S): Write
}

/**
 * One command on one aggregate as one unit of work: `decide` loads (and locks) the state and returns the
 * pure decision; its next state is saved and its events recorded in the same transaction — as one
 * statement with the events when the store can say its write (`saving`), so a command whose decision
 * read nothing in the transaction commits in one round trip.
 */
export async function execute<S>(uow: UnitOfWork, store: StateStore<S>, decide: (tx: CommandTx) => Promise<Decision<S>>): Promise<Committed<S>> {
  return uow.run(async (tx) => {
    const { state, events } = await decide(tx)
    if (store.saving) tx.write(store.saving(state))
    else await store.save(tx, state)
    tx.record(...events)
    return state
  })
}
