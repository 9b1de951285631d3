// Problems: error kinds as statuses, application/problem+json bodies
export {
  InvalidUtf8,
  MalformedJson,
  problem,
  PROBLEM_CONTENT_TYPE,
  problemOf,
  problemResponse,
  problemType,
  RouteNotFound,
  statusOfKind,
  UnsupportedMediaType,
  type Problem,
} from './problem'

// The app: body limit, health, readiness and /metrics around a service's routes
export { createHttpApp, DEFAULT_BODY_LIMIT_BYTES, NO_STORE, NOSNIFF, type HttpAppOptions, type ReadinessCheck } from './create-http-app'

// Validation: request bodies, queries and parameters against zod schemas, form bodies, and user-entered text
export { check, utf8Text, validBody, validParams, validQuery } from './validation'
export { utf8FormBody, type FormFields, type FormValue } from './form-body'
export { hasVisible, userText, uuid } from './user-text'
export { etagOf, holdsCurrent } from './etag'

// Feeds over HTTP: the producer's feed endpoint and the consumer's reader of it
export { feedRoutes, type FeedLagBody, type FeedPageBody, type FeedRetentionBody, type FeedRoutesOptions } from './feed-routes'
export { FeedProtocolViolation, FeedRequestRejected, FeedUnavailable, HttpFeedReader, type HttpFeedReaderOptions } from './http-feed-reader'

// Consistency: tokens on command responses, and reads that wait until the read model has caught up
export {
  consistencyWaiter,
  consistentCommand,
  consistentRead,
  DEFAULT_CONSISTENCY_TIMEOUT_MS,
  NOT_CAUGHT_UP_RETRY_AFTER_SECONDS,
  NotCaughtUp,
  POSITION_HEADER,
  requestSession,
  STALE_HEADER,
  withPosition,
  type ConsistencyWaiter,
  type ConsistentReadOptions,
  type ProgressSource,
} from './consistency'

// Outcomes: a route that started something other services finish waits a while for how it ended
export { awaitOutcome, DEFAULT_OUTCOME_WAIT_MS } from './outcome'
export { answerWithSaga, type SagaOutcomeOptions } from './saga-outcome'
export { IDEMPOTENCY_KEY_HEADER, IdempotencyKeyRequired, IdempotencyKeyReused, idempotent, InvalidIdempotencyKey, REPLAYED_HEADER, type IdempotencyOptions } from './idempotency'

// Alerts: unexpected failures logged, counted and posted to a webhook, off the path of what raised them
export { AlertNotifier, type AlertNotifierOptions, type RecentAlert } from './alerts/alert-notifier'
export { ConsumerBehindWatcher, type ConsumerBehindOptions } from './alerts/consumer-behind'

// State lookups: the latest state of entities another service owns, fetched by id (zero-payload events)
export {
  httpStateLookup,
  httpStatesLookup,
  MAX_STATE_IDS,
  stateIdsQuery,
  StateUnavailable,
  type HttpStateLookupOptions,
  type HttpStatesLookupOptions,
} from './state-lookup'
export { stateRoutes, type StateRoutesOptions } from './state-routes'

// Hosting: services in one process, its metrics, the HTTP server and the process's life from config to signal
export { openProducer, openSubscription, type AnyService, type Producer, type Service, type ServiceContext, type Worker } from './host/service'
export { hostServices, serviceContext, servingOf, type Host } from './host/host'
export { openSagas, type OpenedSagas, type SagaHostOptions } from './host/sagas'
export { sagaMetrics, type SagaMetrics } from './host/saga-metrics'
export { createMetrics, type FeedReadersTable, type Metrics, type MetricsOptions, type WatchedSubscription } from './host/metrics'
export { fastPathOf, serveHttp, type FastPath, type RunningServer, type ServeOptions, type Upgrade } from './host/serve'
export { writeJson, writeProblem } from './host/fast-answers'
export { processConfig, type ProcessConfig } from './host/process-config'
export { runUntilSignalled } from './host/run-process'
export { followedFeed, serviceUrl } from './host/service-opener'
export { processOnlyCredential, requireServiceCredential, SERVICE_ROUTES, SERVICE_TOKEN, serviceCredential, ServiceCredentialRequired, serviceHeaders } from './host/service-credential'
export type { ProcessResources, ServiceOpener, ServiceOpeners } from './host/service-opener'
