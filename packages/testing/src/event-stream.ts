export interface StreamedEvent {
  event: string
  data: string
  id?: string
}

export interface EventStreamReader {
  response: Response
  /** The next event (of `name`, when given), skipping others; fails if the stream ends first. */
  next(name?: string): Promise<StreamedEvent>
  /** Events received so far (also those skipped by `next`). */
  readonly received: StreamedEvent[]
  close(): void
}

/** Opens a server-sent event stream with fetch and parses it event by event (comments are skipped). */
export async function openEventStream(url: string, init: RequestInit = {}): Promise<EventStreamReader> {
  const abort = new AbortController()
  const response = await fetch(url, { ...init, signal: abort.signal })
  const received: StreamedEvent[] = []
  let cursor = 0
  let buffer = ''
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader()

  async function more(): Promise<void> {
    if (!reader) throw new Error(`no stream: ${response.status}`)
    const { value, done } = await reader.read()
    if (done) throw new Error(`the stream ended; received: ${JSON.stringify(received)}`)
    buffer += value.replace(/\r\n?/g, '\n')
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: StreamedEvent = { event: 'message', data: '' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const [field, ...rest] = line.split(':')
        const value = rest.join(':').replace(/^ /, '')
        if (field === 'event') event.event = value
        else if (field === 'data') data.push(value)
        else if (field === 'id') event.id = value
      }
      if (data.length > 0 || block.includes('event:')) received.push({ ...event, data: data.join('\n') })
    }
  }

  return {
    response,
    received,
    async next(name) {
      for (;;) {
        while (cursor < received.length) {
          const event = received[cursor++]!
          if (!name || event.event === name) return event
        }
        await more()
      }
    },
    close: () => abort.abort(),
  }
}
