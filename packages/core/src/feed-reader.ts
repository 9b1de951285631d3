import type { Envelope } from './envelope'
import type { Position } from './position'

export interface FeedPage {
  items: Envelope[]
  /** Where to continue: the last item's position, or `after` when the page is empty. */
  next: Position
}

export interface ReadOptions {
  /** Who is reading: retention keeps what live readers have not passed yet. */
  reader?: string
  /**
   * Which running instance of `reader` reports (random per instance): a report of another session does not
   * overwrite a live reader's position, so one reader cannot report another's (see `OutboxFeed`).
   */
  session?: string
  /** On an empty page, wait up to this long for the feed to grow before answering. */
  waitMs?: number
  signal?: AbortSignal
}

export interface FeedLag {
  events: number
  /** When the oldest event not yet read occurred; absent when the reader is caught up. */
  oldestUnreadAt?: Date
}

/**
 * Reading a producer's feed by position: in process the outbox table, across processes HTTP, or one
 * partition of the feed on a broker (positions are then the broker's offsets, in the same format).
 */
export interface FeedReader {
  readonly source: string
  read(after: Position, limit: number, options?: ReadOptions): Promise<FeedPage>
  lag(after: Position): Promise<FeedLag>
  /**
   * The last position retention has deleted, if it ever deleted any: reading from the start no longer
   * sees everything the feed had. Undefined when nothing was deleted, or when the feed cannot say.
   */
  trimmedThrough?(): Promise<Position | undefined>
}
