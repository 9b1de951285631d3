import { connect } from 'node:net'
import type { Logger } from '@tidings/core'
import type { Upgrade } from '@tidings/http'
import { serviceOf, type GatewayRoutes } from './gateway'

/**
 * Protocol switches (WebSocket) through the gateway: the request goes to an instance of the service that
 * owns its path, as it came (but its Host), and from then on the two connections are joined byte for byte.
 * A path no service owns is not taken (404); a service with no instance answering gets a 503.
 */
export function gatewayUpgrade(options: { routes: GatewayRoutes; instances(service: string): readonly string[]; logger: Logger }): Upgrade {
  const turns = new Map<string, number>()
  return (req, socket, head) => {
    const path = (req.url ?? '/').split('?')[0]!
    const service = serviceOf(options.routes, path)
    if (!service) return false
    const instances = options.instances(service)
    const turn = turns.get(service) ?? 0
    turns.set(service, turn + 1)
    const target = instances.length > 0 ? new URL(instances[turn % instances.length]!) : undefined
    socket.on('error', () => {})
    if (!target) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return true
    }
    const upstream = connect(Number(target.port), target.hostname)
    let joined = false
    upstream.once('connect', () => {
      joined = true
      const headers: string[] = []
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!
        headers.push(`${name}: ${name.toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]}`)
      }
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    upstream.on('error', (error) => {
      options.logger.warn({ err: error, service, target: target.origin }, 'a service instance did not take a protocol switch')
      if (joined) socket.destroy()
      else socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    })
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
    return true
  }
}
