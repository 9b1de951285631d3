import { WebSocket } from 'ws'

export interface QueueSocket {
  /** Every message received so far, parsed. */
  readonly received: Array<Record<string, unknown>>
  /** The next message not yet taken (waits for it); fails if the socket closes first. */
  next(): Promise<Record<string, unknown>>
  /** Resolves with the close code and reason once the server (or `close`) ends the socket. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): void
}

/** A WebSocket client of the queue channel (`ws://…/api/queue/:token/ws`), reading its messages in order. */
export function openQueueSocket(url: string): QueueSocket {
  const ws = new WebSocket(url)
  const received: Array<Record<string, unknown>> = []
  let cursor = 0
  let wake: (() => void) | undefined
  let ended: { code: number; reason: string } | undefined
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      ended = { code, reason: reason.toString() }
      resolve(ended)
      wake?.()
    })
  })
  ws.on('error', () => {})
  ws.on('message', (data) => {
    received.push(JSON.parse(data.toString()) as Record<string, unknown>)
    wake?.()
  })
  return {
    received,
    closed,
    async next() {
      while (cursor >= received.length) {
        if (ended) throw new Error(`the socket closed (${ended.code} ${ended.reason}); received: ${JSON.stringify(received)}`)
        await new Promise<void>((resolve) => (wake = resolve))
      }
      return received[cursor++]!
    },
    close: () => ws.close(),
  }
}
