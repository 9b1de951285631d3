/**
 * Holders of queue tokens connected to the queue channel for figure 23, in a process of their own (a child
 * of the bench, see child.ts), one connection per token over WebSocket (`openQueueSocket`, the concert
 * test kit's client) or Server-Sent Events (node:http), as QUEUE_CLIENT_KIND says. Every view received
 * is noted with the clock the processes of this machine share (`wallNow`); after `arm`, the first view
 * each holder receives is the one the figure times and checks.
 */
import http from 'node:http'
import { openQueueSocket } from '@tidings/concert/test-kit'
import { serveParent, wallNow } from './child'

interface View {
  status: string
  position: number | null
}

interface Holder {
  /** The last view received. */
  view?: View
  /** The view when `arm` was called, and the first one received after it (and when). */
  armed?: View
  next?: { view: View; at: number }
  close(): void
}

const kind = process.env.QUEUE_CLIENT_KIND === 'sse' ? 'sse' : 'ws'
const holders = new Map<string, Holder>()

function received(holder: Holder, view: View): void {
  if (holder.armed && !holder.next) holder.next = { view, at: wallNow() }
  holder.view = view
}

/** Connects the token's holder; resolves once its first view arrived (the channel sends it at once). */
function connect(base: string, token: string): Promise<Holder> {
  return new Promise((resolve, reject) => {
    const holder: Holder = { close: () => {} }
    const first = (view: View) => {
      received(holder, view)
      resolve(holder)
    }
    if (kind === 'ws') {
      const socket = openQueueSocket(`${base.replace(/^http/, 'ws')}/api/queue/${token}/ws`)
      holder.close = () => socket.close()
      void (async () => {
        try {
          first((await socket.next()) as unknown as View)
          for (;;) received(holder, (await socket.next()) as unknown as View)
        } catch (error) {
          reject(error as Error) // ignored once connected: the socket closed
        }
      })()
      return
    }
    const { hostname, port } = new URL(base)
    const request = http.get({ hostname, port, path: `/api/queue/${token}/events`, agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        return reject(new Error(`SSE: ${res.statusCode}`))
      }
      res.setEncoding('utf8')
      let buffer = ''
      res.on('data', (chunk: string) => {
        buffer += chunk
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1]
          buffer = buffer.slice(end + 2)
          if (!data) continue
          const view = JSON.parse(data) as View
          if (holder.view) received(holder, view)
          else first(view)
        }
      })
    })
    request.on('error', reject)
    holder.close = () => request.destroy()
  })
}

serveParent({
  /** Connects every token's holder, `inFlight` at a time: how many did, how long it took, the first failure. */
  open: async ({ base, tokens, inFlight }: { base: string; tokens: string[]; inFlight: number }) => {
    const started = performance.now()
    let next = 0
    let failed = 0
    let firstFailure: string | undefined
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < tokens.length; i = next++) {
          try {
            holders.set(tokens[i]!, await connect(base, tokens[i]!))
          } catch (error) {
            failed++
            firstFailure ??= String(error)
          }
        }
      }),
    )
    return { opened: holders.size, failed, firstFailure, ms: performance.now() - started }
  },
  /** From now on, each holder's first view is noted apart. */
  arm: () => {
    for (const holder of holders.values()) {
      holder.armed = holder.view
      holder.next = undefined
    }
    return holders.size
  },
  /** How many holders received a view since `arm`. */
  count: () => [...holders.values()].filter((h) => h.next).length,
  /**
   * The first view each holder received since `arm`, in ms after `since` (the shared clock), and how many
   * were not what the admission should have told them: ACTIVE, or `moved` places further ahead.
   */
  arrivals: ({ since, moved }: { since: number; moved: number }) => {
    const latencies: number[] = []
    let wrong = 0
    for (const { armed, next } of holders.values()) {
      if (!next) continue
      latencies.push(next.at - since)
      const { view } = next
      const admitted = view.status === 'ACTIVE' && armed?.status === 'WAITING'
      const movedUp = view.status === 'WAITING' && armed?.position != null && view.position === armed.position - moved
      if (!admitted && !movedUp) wrong++
    }
    return { latencies, wrong }
  },
  closeAll: () => {
    for (const holder of holders.values()) holder.close()
    holders.clear()
    return true
  },
  stop: () => {
    setImmediate(() => process.exit(0))
    return true
  },
})
process.send?.({ ready: 0 })
