/**
 * Fails the confirms a channel awaits once none has come for `timeoutMs`: one timer for the channel,
 * restarted by every confirm (a timer per message costs more than the rest of the client's work), and
 * stopped while nothing is awaited. Once it has fired, every confirm watched after fails too: the channel
 * is to be dropped.
 */
export class ConfirmWatchdog {
  private timer: NodeJS.Timeout | undefined
  private awaited = 0
  private stalled: (error: Error) => void = () => {}
  private readonly stall = new Promise<never>((_, reject) => (this.stalled = reject))

  constructor(
    private readonly timeoutMs: number,
    private readonly error: () => Error,
  ) {
    this.stall.catch(() => {})
  }

  watch(confirm: Promise<void>): Promise<void> {
    // Checked again after pending I/O: a busy event loop may fire the timer before reading the confirms.
    if (this.awaited++ === 0) this.timer = setTimeout(() => setImmediate(() => this.stalled(this.error())), this.timeoutMs)
    return Promise.race([confirm, this.stall]).finally(() => {
      if (--this.awaited === 0) clearTimeout(this.timer)
      else this.timer?.refresh()
    })
  }

  stop(): void {
    clearTimeout(this.timer)
  }
}
