import type { Context } from 'hono'
import { FINAL_SAGA_STATUSES } from '@tidings/core'
import type { SagaRunner, StoredSaga } from '@tidings/postgres'
import type { ProgressSource } from './consistency'
import { awaitOutcome, DEFAULT_OUTCOME_WAIT_MS } from './outcome'

export interface SagaOutcomeOptions {
  /** Where the client polls the saga's outcome (e.g. `/api/payments/:id`). */
  location: string
  /** The replies' subscription: waiting re-reads the saga when it makes progress here. */
  progress: readonly Pick<ProgressSource, 'onProgress'>[]
  /** The longest the route waits (default 5 s). */
  timeoutMs?: number
  /** The body, from the saga as it is: by default its id, status and reason. */
  view?: (saga: StoredSaga) => unknown
}

const defaultView = (saga: StoredSaga) => ({ id: saga.id, type: saga.type, status: saga.status, ...(saga.reason ? { reason: saga.reason } : {}) })

/**
 * A route that started a saga waits a while for it to end: `200` with the final saga, or `202` with a
 * `Location` to poll when it has not ended in time (the saga goes on either way).
 */
export async function answerWithSaga(c: Context, runner: Pick<SagaRunner, 'find'>, id: string, options: SagaOutcomeOptions): Promise<Response> {
  const saga = await awaitOutcome(
    () => runner.find(id),
    (s) => s !== undefined && FINAL_SAGA_STATUSES.includes(s.status),
    { progress: options.progress, timeoutMs: options.timeoutMs ?? DEFAULT_OUTCOME_WAIT_MS },
  )
  if (!saga) throw new Error(`saga ${id} does not exist: start it before waiting for it`)
  const body = (options.view ?? defaultView)(saga)
  if (FINAL_SAGA_STATUSES.includes(saga.status)) return c.json(body, 200)
  c.header('Location', options.location)
  return c.json(body, 202)
}
