import type { IncomingMessage, ServerResponse } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Logger } from '@tidings/core'
import { problem, writeProblem, type FastPath, type Upgrade, type Worker } from '@tidings/http'
import type { QueueChannel, Subscription } from './queue-channel'

/** `/api/queue/<token>/events` (SSE) and `/api/queue/<token>/ws` (WebSocket): the token is all a holder needs, as for polling. */
const STREAM_PATH = /^\/api\/queue\/([A-Za-z0-9_-]{32})\/(events|ws)(?:\?.*)?$/
/** Idle connections are kept alive (and dead ones found) this often: proxies drop silent connections. */
const KEEP_ALIVE_MS = 15_000

/** Why a connection was refused, as problem codes (HTTP) and close codes with the same reason (WebSocket). */
const REFUSALS = {
  unknown: { status: 404, close: 4404, code: 'QUEUE_TOKEN_NOT_FOUND', detail: 'No such queue token' },
  'token-full': { status: 429, close: 4429, code: 'TOO_MANY_STREAMS', detail: 'This token has as many connections open as it may: close one first' },
  full: { status: 503, close: 1013, code: 'CHANNEL_FULL', detail: 'The channel has as many connections as it takes: poll GET /api/queue/:token meanwhile' },
} as const

/**
 * The channel over the wire, straight on Node's server (no per-message framework work): Server-Sent
 * Events as a fast path, WebSocket as a protocol switch. Each connection costs its socket and one entry in
 * the channel; idle ones get a keep-alive comment or ping every 15 s, and a WebSocket that does not answer
 * its ping by the next one is cut.
 */
export class QueueChannelTransports implements Worker {
  private readonly sockets = new WebSocketServer({ noServer: true, maxPayload: 256, perMessageDeflate: false })
  private readonly streams = new Set<ServerResponse>()
  private readonly alive = new WeakSet<WebSocket>()
  private timer?: NodeJS.Timeout

  constructor(
    private readonly channel: QueueChannel,
    private readonly logger: Logger,
  ) {}

  /** `GET /api/queue/:token/events`. */
  readonly fastPath: FastPath = (req, res) => {
    const token = streamToken(req, 'events')
    if (!token || req.method !== 'GET') return false
    void this.openStream(token, res)
    return true
  }

  /** `GET /api/queue/:token/ws` (Upgrade: websocket). */
  readonly upgrade: Upgrade = (req, socket, head) => {
    const token = streamToken(req, 'ws')
    if (!token) return false
    this.sockets.handleUpgrade(req, socket, head, (ws) => void this.openSocket(token, ws))
    return true
  }

  start(): void {
    this.timer ??= setInterval(() => this.keepAlive(), KEEP_ALIVE_MS).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    for (const res of this.streams) res.end()
    for (const ws of this.sockets.clients) ws.close(1001, 'SERVER_CLOSING')
  }

  private async openStream(token: string, res: ServerResponse): Promise<void> {
    // Listened for before the subscription is made: a client gone while it was made must not keep its place.
    let closed = false
    let subscription: Subscription | undefined
    res.once('close', () => {
      closed = true
      this.streams.delete(res)
      if (typeof subscription === 'object') subscription.unsubscribe()
    })
    try {
      subscription = await this.channel.subscribe(token, {
        send: (view) => {
          if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' })
          res.write(`event: status\ndata: ${JSON.stringify(view)}\n\n`)
        },
        end: () => res.end(),
      })
    } catch (error) {
      this.logger.warn({ err: error }, 'queue channel: a stream could not open')
      return writeProblem(res, problem(503, 'CHANNEL_UNAVAILABLE', 'The waiting room cannot be read now: try again'))
    }
    if (typeof subscription === 'string') return writeProblem(res, problem(REFUSALS[subscription].status, REFUSALS[subscription].code, REFUSALS[subscription].detail))
    if (closed) subscription.unsubscribe()
    else this.streams.add(res)
  }

  private async openSocket(token: string, ws: WebSocket): Promise<void> {
    ws.on('error', () => ws.terminate())
    ws.on('pong', () => this.alive.add(ws))
    this.alive.add(ws)
    let subscription: Subscription
    try {
      subscription = await this.channel.subscribe(token, { send: (view) => ws.send(JSON.stringify(view)), end: () => ws.close(1000, 'DONE') })
    } catch (error) {
      this.logger.warn({ err: error }, 'queue channel: a socket could not open')
      return ws.close(1011, 'CHANNEL_UNAVAILABLE')
    }
    if (typeof subscription === 'string') return ws.close(REFUSALS[subscription].close, REFUSALS[subscription].code)
    ws.once('close', () => subscription.unsubscribe())
    if (ws.readyState !== ws.OPEN) subscription.unsubscribe()
  }

  private keepAlive(): void {
    for (const res of this.streams) res.write(': keep-alive\n\n')
    for (const ws of this.sockets.clients) {
      if (!this.alive.delete(ws)) ws.terminate()
      else ws.ping()
    }
  }
}

function streamToken(req: IncomingMessage, kind: 'events' | 'ws'): string | undefined {
  const match = STREAM_PATH.exec(req.url ?? '')
  return match?.[2] === kind ? match[1] : undefined
}
