import type { Database } from '@tidings/postgres'

/**
 * Feeds never read past the oldest transaction still open anywhere on the server (gap safety), so on the
 * shared PostgreSQL another session's long transaction stalls every feed meanwhile: commits stay invisible
 * to readers however fast the pipeline is. This samples, while a phase runs, the oldest open transaction
 * that holds a transaction id, so a latency figure can say whether the horizon held it back.
 */
export class HorizonWatch {
  private worst = { ms: 0, who: '' }
  private timer?: NodeJS.Timeout
  private sampling?: Promise<void>

  constructor(private readonly admin: Database) {}

  start(): void {
    this.worst = { ms: 0, who: '' }
    this.timer = setInterval(() => (this.sampling ??= this.sample().finally(() => (this.sampling = undefined))), 200)
  }

  /** "the horizon held up to 1.2 s (by application x)". */
  async stop(): Promise<string> {
    clearInterval(this.timer)
    await this.sampling
    return `horizon held up to ${(this.worst.ms / 1000).toFixed(1)} s${this.worst.who ? ` (by ${this.worst.who})` : ''}`
  }

  private async sample(): Promise<void> {
    const { rows } = await this.admin
      .query<{ ms: string; who: string }>(
        `SELECT (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::text AS ms, coalesce(nullif(application_name, ''), 'pid ' || pid) AS who
         FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 1`,
      )
      .catch(() => ({ rows: [] }))
    const oldest = rows[0]
    if (oldest && Number(oldest.ms) > this.worst.ms) this.worst = { ms: Number(oldest.ms), who: oldest.who }
  }
}
