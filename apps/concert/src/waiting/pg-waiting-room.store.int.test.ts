import { migrate, platformMigrations, type Database } from '@tidings/postgres'
import { testEngines, uniqueName } from '@tidings/testing'
import { PgWaitingRoomStore, waitingRoomMigrations } from './pg-waiting-room.store'
import { waitingRoomStoreContract } from './waiting-room-store.contract'

for (const engine of await testEngines()) {
  let opened: Promise<Database> | undefined
  waitingRoomStoreContract(engine.name, async () => {
    // One database per engine, a schema per test: an embedded database takes seconds to open.
    const db = await (opened ??= engine.freshDatabase().then((fresh) => fresh.db))
    const schema = uniqueName('waiting')
    await migrate(db, schema, 'tidings', platformMigrations)
    await migrate(db, schema, 'concert.waiting', waitingRoomMigrations)
    return new PgWaitingRoomStore(db, schema)
  })
}
