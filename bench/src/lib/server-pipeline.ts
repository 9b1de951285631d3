import { FeedNotifier, FeedSignals, forwardNotifications, OutboxFeed, UnitOfWork, type PgDatabase } from '@tidings/postgres'
import { CLIENTS } from './env'
import type { Workbench } from './workbench'
import { SOURCE } from './workload'

export interface ServerPipeline {
  writerSchema: string
  readerSchema: string
  writer: PgDatabase
  reader: PgDatabase
  uow: UnitOfWork
  /** The writer's feed as the reader sees it, woken only by NOTIFY (and polling). */
  feed: OutboxFeed
  unlisten: () => Promise<void>
}

/**
 * Writer and reader on separate pools, as separate processes would be: the writer's unit of work sends
 * NOTIFY after commit, the reader forwards it into its own signals.
 */
export async function serverPipeline(bench: Workbench, name: string): Promise<ServerPipeline> {
  const writerSchema = await bench.serverSchema(`${name}_writer`)
  const readerSchema = await bench.serverSchema(`${name}_reader`)
  const writer = bench.pool(CLIENTS, 'tidings-bench-writer')
  const reader = bench.pool(4, 'tidings-bench-reader')
  const uow = new UnitOfWork({ db: writer, schema: writerSchema, source: SOURCE, notifier: new FeedNotifier(writer) })
  const signals = new FeedSignals()
  const unlisten = await forwardNotifications(reader, signals)
  const feed = new OutboxFeed(reader, writerSchema, SOURCE, signals)
  return { writerSchema, readerSchema, writer, reader, uow, feed, unlisten }
}
