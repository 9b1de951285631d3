import type { Alert } from '@tidings/core'

/** One message to the webhook: an alert and how many times it came (in its first seconds, or since). */
export interface AlertMessage {
  alert: Alert
  count: number
  /** A follow-up counting the repeats within the window after the first message. */
  repeat: boolean
  windowMs: number
}

/**
 * The text of a Slack-compatible message: what, where, how often. `&`, `<` and `>` are escaped as Slack
 * asks, so nothing in an error message (which may quote a request) becomes a mention or a link.
 */
export function slackText({ alert, count, repeat, windowMs }: AlertMessage): string {
  const what = `[tidings] ${alert.kind} ${alert.code} at ${alert.where}`
  const text = repeat ? `${what}: ${count} more within ${Math.round(windowMs / 60_000) || 1} min of the first` : `${what}: ${alert.message}${count > 1 ? ` (×${count})` : ''}`
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
