/** What went wrong, as an operator is told: an answer nobody expected, a message given up on, a stuck consumer… */
export type AlertKind = 'http_error' | 'dead_letter' | 'consumer_behind' | 'saga_failed' | 'deadline_missed'

/**
 * An unexpected failure, raised where it happens and delivered elsewhere (a log line, a metric, a webhook).
 * Alerts with the same kind, code and `where` are the same problem: they are counted, not repeated.
 */
export interface Alert {
  kind: AlertKind
  /** The stable error code (e.g. `INTERNAL`, the dead-lettered error's code). */
  code: string
  /** Where it happened: a route (`POST /api/orders`), a consumer, a saga type. */
  where: string
  /** One line for a human. */
  message: string
  details?: Record<string, unknown>
}

/** Where failures are raised. `raise` returns at once and never throws: it must not slow or fail the caller. */
export interface Alerts {
  raise(alert: Alert): void
}

export const noAlerts: Alerts = { raise: () => {} }

/** Alerts with one fingerprint are one problem, de-duplicated within a window. */
export function alertFingerprint(alert: Pick<Alert, 'kind' | 'code' | 'where'>): string {
  return `${alert.kind}|${alert.code}|${alert.where}`
}
