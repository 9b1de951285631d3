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
 * The text of a Slack-compatible message: what, where, how often, on one line. `&`, `<` and `>` are escaped
 * as Slack asks, and the error message (which may quote a request) is a code span on the same line, so
 * nothing in it becomes a mention, a link, formatting or a line of its own.
 */
export function slackText({ alert, count, repeat, windowMs }: AlertMessage): string {
  const what = `[tidings] ${oneLine(alert.kind)} ${oneLine(alert.code)} at ${oneLine(alert.where)}`
  const said = `\`${oneLine(alert.message).replace(/`/g, "'")}\``
  const text = repeat ? `${what}: ${count} more within ${Math.round(windowMs / 60_000) || 1} min of the first` : `${what}: ${said}${count > 1 ? ` (×${count})` : ''}`
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const oneLine = (text: string): string => text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim()
