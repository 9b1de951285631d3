import type { Decision } from '@tidings/core'
import type { Queryable } from '../database/database'
import type { CommandTx, Committed, UnitOfWork } from './unit-of-work'

/**
 * One command on one aggregate as one unit of work: `decide` loads (and locks) the state and returns the
 * pure decision; its next state is saved and its events recorded in the same transaction.
 */
export async function execute<S>(uow: UnitOfWork, store: { save(tx: Queryable, state: S): Promise<void> }, decide: (tx: CommandTx) => Promise<Decision<S>>): Promise<Committed<S>> {
  return uow.run(async (tx) => {
    const { state, events } = await decide(tx)
    await store.save(tx, state)
    tx.record(...events)
    return state
  })
}
