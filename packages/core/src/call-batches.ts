/**
 * Calls made at about the same time, sent together: each `call(input)` waits for the next batch, which
 * goes out once the calls already made in this turn of the event loop are in (at most `maxBatch` each), as
 * one `send` of their inputs; its results answer them in order. A failed send fails every call of its batch.
 * One round trip for many callers — what a store does to take a spike of small writes.
 */
export class CallBatches<Input, Result> {
  private pending: Array<{ input: Input; resolve: (result: Result) => void; reject: (error: unknown) => void }> = []
  private scheduled = false

  constructor(
    private readonly send: (inputs: Input[]) => Promise<Result[]>,
    private readonly maxBatch = 256,
  ) {}

  call(input: Input): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch)
      this.send(batch.map((c) => c.input)).then(
        (results) => batch.forEach((c, i) => (i < results.length ? c.resolve(results[i]!) : c.reject(new Error(`a batch of ${batch.length} calls answered ${results.length}`)))),
        (error: unknown) => batch.forEach((c) => c.reject(error)),
      )
    }
  }
}
