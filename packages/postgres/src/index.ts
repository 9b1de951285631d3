// Database: the one SQL port, its two engines, schema names and JSON columns, migrations, failure classes
export type { Database, Queryable, QueryResult } from './database/database'
export { PgDatabase, type PgDatabaseOptions } from './database/pg-database'
export { PgliteDatabase } from './database/pglite-database'
export { openDatabase, type DatabaseConfig } from './database/open-database'
export { schemaForService, schemaName, storableJson } from './database/sql'
export { runWrites, valuesList, withWrites, type Write } from './database/writes'
export { isoTime, isoTimeOrNull } from './database/timestamps'
export { isInfrastructureError } from './database/infrastructure-error'
export { migrate, type Migration } from './database/migrations'
export { platformMigrations } from './database/platform-schema'

// Feed: the outbox a producer appends to, read by position, its wake-ups, retention and relay to a broker
export { appendToOutbox, DEFAULT_MAX_EVENT_BYTES } from './feed/outbox'
export { OutboxFeed } from './feed/outbox-feed'
export { FeedSignals } from './feed/feed-signals'
export { FEED_CHANNEL, FeedNotifier, forwardNotifications } from './feed/feed-notifier'
export { cleanupFeed, defaultRetention, liveReaders, slowest, slowestLiveReader, trimmedThrough, type RetentionPolicy } from './feed/feed-retention'
export { Relay, type RelayOptions } from './feed/relay'
export { embeddedTransport } from './feed/embedded-transport'

// Commands: a unit of work records events with the state change; reactors run commands on others' events
export { UnitOfWork, type CommandTx, type Committed, type UnitOfWorkOptions } from './commands/unit-of-work'
export { execute, type StateStore } from './commands/execute'
export {
  DEFAULT_IDEMPOTENCY_RETENTION_MS,
  IdempotencyKeyInUse,
  IdempotencyKeys,
  KeyAlreadyUsed,
  purgeIdempotencyKeys,
  type CommandOutcome,
  type KeyedRequest,
  type StoredResponse,
  type UsedKey,
} from './commands/idempotency-keys'
export { KeyedCommand, runKeyed } from './commands/keyed-command'
export { reactor, type ReactorDefinition } from './commands/reactor'

// Consumers: subscriptions following feeds or broker partitions, with their inbox, checkpoints and dead letters
export type { Follower, FollowerStatus, SourceProgress } from './consumers/follower'
export { Subscription, type SubscriptionOptions, type SubscriptionStatus } from './consumers/subscription'
export { mustReplayCompletely, RebuildPastRetention } from './consumers/rebuild'
export { lowestSourcePosition, PartitionedSubscription, type PartitionedSubscriptionOptions } from './consumers/partitioned-subscription'
export { MessageProcessor, type ProcessorOptions } from './consumers/message-processor'
export { DeferredWorker } from './consumers/deferred-worker'
export {
  claimMessages,
  countPending,
  duePendingMessages,
  forgetConsumer,
  markProcessed,
  oldestPending,
  hasPending,
  pendingKeys,
  postponePending,
  pruneInbox,
  settlePending,
  type InboxStatus,
  type PendingMessage,
} from './consumers/inbox'
export { deleteCheckpoints, listCheckpoints, readCheckpoint, readSourceCheckpoint, saveCheckpoint, type CheckpointRow } from './consumers/checkpoints'
export {
  addDeadLetter,
  closeDeadLetters,
  countDeadLetters,
  describeError,
  findDeadLetter,
  listDeadLetters,
  takeDeadLetter,
  type DeadLetter,
} from './consumers/dead-letters'

// Leadership: named leases with heartbeats, and running work only while holding one
export { currentLeaseOwner, Lease } from './leadership/lease'
export { runAsLeader, whileLeading } from './leadership/leadership'

// Scheduler: messages scheduled in the caller's transaction, delivered as commands when due
export {
  cancelling,
  cancelScheduled,
  batchHandler,
  scheduleMessage,
  scheduleMessages,
  scheduling,
  Scheduler,
  SCHEDULER_CONSUMER,
  type ScheduledHandler,
  type ScheduledMessage,
  type SchedulerOptions,
} from './scheduler/scheduler'

// Documents: the read-model store on jsonb
export { DocumentStore } from './documents/document-store'

// Housekeeping: periodic clean-up of old feed events and processed inbox rows
export { Housekeeping, type HousekeepingOptions } from './housekeeping/housekeeping'

// Utilities
export { sleep } from './sleep'

// Sagas: a definition's steps run from the orchestrator's database, compensated in reverse when one fails
export { SAGA_TIMER, SagaNotFailed, SagaNotFound, SagaRunner, type SagaObserver, type SagaRunnerOptions, type StartedSaga } from './sagas/saga-runner'
export { sagaMigrations, SagaStore, type SagaHistoryLine, type SagaListFilter, type StoredSaga } from './sagas/saga-store'
