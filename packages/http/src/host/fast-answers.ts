import type { ServerResponse } from 'node:http'
import { PROBLEM_CONTENT_TYPE, type Problem } from '../problem'

/**
 * Answers of a fast path (see `serveHttp`), written straight on Node's response as the app would answer
 * them: JSON with its length, and problems as `problemResponse` makes them. A response already ended
 * (the client went) is left alone.
 */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  write(res, status, 'application/json', JSON.stringify(body), headers)
}

export function writeProblem(res: ServerResponse, p: Problem): void {
  write(res, p.status, PROBLEM_CONTENT_TYPE, JSON.stringify(p), { 'Cache-Control': 'no-store' })
}

function write(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string>): void {
  if (res.destroyed || res.writableEnded) return
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers })
  res.end(body)
}
