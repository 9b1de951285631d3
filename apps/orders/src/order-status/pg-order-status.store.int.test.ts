import { migrate } from '@tidings/postgres'
import { testEngines } from '@tidings/testing'
import { inTransaction, orderStatusStoreContract } from './order-status-store.contract'
import { orderStatusMigrations, PgOrderStatusStore } from './pg-order-status.store'

for (const engine of await testEngines()) {
  orderStatusStoreContract(engine.name, async () => {
    const db = await engine.db()
    const schema = await engine.freshSchema('status')
    await migrate(db, schema, 'orders.status', orderStatusMigrations)
    const store = new PgOrderStatusStore(db, schema)
    return {
      store,
      apply: inTransaction(db, store),
      async another() {
        const other = await engine.connect()
        return { apply: inTransaction(other, new PgOrderStatusStore(other, schema)) }
      },
    }
  })
}
