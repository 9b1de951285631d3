import { afterAll } from 'vitest'
import { uniqueName } from '@tidings/testing'
import { MariaDbOrderStatusStore } from './mariadb-order-status.store'
import { orderStatusStoreContract } from './order-status-store.contract'
import { MARIADB_URL, mariadbReachable } from './mariadb-test-server'
import type { ConsumerTransaction } from './order-status'

/**
 * MariaDB cannot join the consumer's PostgreSQL transaction: its store runs its own, and must not write in
 * this one; it only asks whether it still answers before committing (a fence against a rebuild's clear).
 */
const OWN_TRANSACTIONS: ConsumerTransaction = {
  query: (sql) => (sql === 'SELECT 1' ? Promise.resolve({ rows: [{}] }) : Promise.reject(new Error('the MariaDB store wrote in the consumer transaction'))),
}

const stores: MariaDbOrderStatusStore[] = []
const tables: string[] = []
afterAll(async () => {
  for (const [i, store] of stores.entries()) {
    if (i === 0) for (const table of tables) await store.drop(table)
    await store.close()
  }
})

if (await mariadbReachable()) {
  orderStatusStoreContract('MariaDB', async () => {
    const table = uniqueName('status')
    tables.push(table)
    const open = async () => {
      const store = await MariaDbOrderStatusStore.open(MARIADB_URL, { table })
      stores.push(store)
      return store
    }
    const store = await open()
    return { store, apply: (changes) => store.apply(OWN_TRANSACTIONS, changes), another: async () => open().then((s) => ({ apply: (changes) => s.apply(OWN_TRANSACTIONS, changes) })) }
  })
}
