/**
 * Fails the confirms a channel awaits once none has come for `timeoutMs`: one timer for the channel,
 * restarted by every confirm (a timer per message costs more than the rest of the client's work), and
 * stopped while nothing is awaited. Once it has fired, every confirm watched after fails too: the channel
 * is to be dropped.
 */
export class ConfirmWatchdog {
  private timer: NodeJS.Timeout | undefined
  private awaited = 0
  /** Confirms seen so far (or their failures): one that comes after the timer fired saves the channel. */
  private settled = 0
  private stalled: (error: Error) => void = () => {}
  private readonly stall = new Promise<never>((_, reject) => (this.stalled = reject))

  constructor(
    private readonly timeoutMs: number,
    private readonly error: () => Error,
  ) {
    this.stall.catch(() => {})
  }

  watch(confirm: Promise<void>): Promise<void> {
    if (this.awaited++ === 0) this.timer = setTimeout(() => this.expire(), this.timeoutMs)
    return Promise.race([confirm, this.stall]).finally(() => {
      this.settled++
      if (--this.awaited === 0) clearTimeout(this.timer)
      else this.timer?.refresh()
    })
  }

  /**
   * Checked again after the I/O still pending: a busy event loop may fire the timer before it reads the
   * confirms that came in time. One that comes then restarts the timer instead.
   */
  private expire(): void {
    const settled = this.settled
    setImmediate(() => {
      if (this.awaited > 0 && this.settled === settled) this.stalled(this.error())
    })
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}
