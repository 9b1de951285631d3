import { request, type IncomingHttpHeaders } from 'node:http'

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/**
 * An HTTP request over a plain socket, sending the body in the given chunks. Unlike fetch it still reports
 * the response when the server answers early and closes the connection while the body is being sent, which
 * is exactly what a server that rejects an oversized body does.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; chunks?: readonly (string | Buffer)[] } = {},
): Promise<RawResponse> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    let answered = false
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'POST', headers: options.headers },
      (res) => {
        answered = true
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
        res.on('error', reject)
      },
    )
    req.on('error', (error) => {
      // EPIPE/ECONNRESET after an early answer is the server refusing the rest of the body: not a failure.
      if (!answered) reject(error)
    })
    for (const chunk of options.chunks ?? []) req.write(chunk)
    req.end()
  })
}
