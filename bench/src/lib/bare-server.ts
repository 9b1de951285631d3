import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { serveParent, wallNow } from './child'

/**
 * The read ceiling (a child process of the bench): a bare `node:http` server that answers each path with
 * bytes it was given, with the headers the board sends (Content-Type: application/json unless the entry
 * gives its own headers, Content-Length; Node adds Date, Connection and Keep-Alive to both). It does the
 * least a server can: one Map lookup.
 */
const JSON_HEADERS = { 'Content-Type': 'application/json' }
const documents = new Map<string, { body: Buffer; headers: Record<string, string>; status: number }>()
const notFound = { body: Buffer.from('{"code":"NOT_FOUND"}'), headers: JSON_HEADERS, status: 404 }

const server = http.createServer((req, res) => {
  const { body, headers, status } = documents.get(req.url ?? '') ?? notFound
  res.writeHead(status, { ...headers, 'Content-Length': body.length })
  res.end(body)
})
// As serveHttp's: idle connections are kept 65 s (so the Keep-Alive header is the same too).
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000

server.listen(0, '127.0.0.1', () => {
  serveParent({
    now: () => wallNow(),
    // [path, body], [path, body, headers] (e.g. an HTML page's Content-Type and the board's other headers) or [path, body, headers, status] (200 unless given).
    documents: (entries: Array<[string, string, Record<string, string>?, number?]>) => {
      documents.clear()
      for (const [path, body, headers, status] of entries) documents.set(path, { body: Buffer.from(body, 'utf8'), headers: headers ?? JSON_HEADERS, status: status ?? 200 })
      return documents.size
    },
    stop: () => {
      setImmediate(() => {
        server.closeAllConnections()
        server.close(() => process.exit(0))
      })
      return true
    },
  })
  process.send?.({ ready: (server.address() as AddressInfo).port })
})
