import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { serveParent, wallNow } from './child'

/**
 * The read ceiling (a child process of the bench): a bare `node:http` server that answers each path with
 * bytes it was given, with the headers the board sends (Content-Type: application/json, Content-Length;
 * Node adds Date, Connection and Keep-Alive to both). It does the least a server can: one Map lookup.
 */
const documents = new Map<string, Buffer>()
const notFound = Buffer.from('{"code":"NOT_FOUND"}')

const server = http.createServer((req, res) => {
  const body = documents.get(req.url ?? '')
  res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json', 'Content-Length': (body ?? notFound).length })
  res.end(body ?? notFound)
})
// The keep-alive timeout of @hono/node-server's server is Node's default as well (5 s).

server.listen(0, '127.0.0.1', () => {
  serveParent({
    now: () => wallNow(),
    documents: (entries: Array<[string, string]>) => {
      documents.clear()
      for (const [path, body] of entries) documents.set(path, Buffer.from(body, 'utf8'))
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
