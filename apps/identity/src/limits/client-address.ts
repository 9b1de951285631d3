import { isIP } from 'node:net'
import type { Context } from 'hono'

/** What a request that came through no socket (an in-process call that passed none on) is counted under. */
export const UNKNOWN_ADDRESS = 'unknown'

/**
 * Where a request comes from, as the limits count it. The peer of the socket, unless `trustedProxies`
 * (`TIDINGS_TRUST_PROXY`) says that many proxies of ours stand in front, each appending the address it
 * was reached from to `X-Forwarded-For`: then the entry that many hops from the right. Anything left of it
 * was written by the client and is never believed. Without a trusted proxy the header is ignored.
 */
export function clientAddress(c: Context, trustedProxies = 0): string {
  const peer = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress
  return addressKey(clientAddressOf(peer, trustedProxies > 0 ? c.req.header('X-Forwarded-For') : undefined, trustedProxies))
}

/** The pure part of `clientAddress`: the peer, or the entry of `forwardedFor` appended by the outermost trusted proxy. */
export function clientAddressOf(peer: string | undefined, forwardedFor: string | undefined, trustedProxies: number): string | undefined {
  if (trustedProxies <= 0 || forwardedFor === undefined) return peer
  // The peer is the nearest proxy; each trusted proxy appended the address it saw to the right.
  const hops = [...forwardedFor.split(',').map((entry) => entry.trim()), ...(peer !== undefined ? [peer] : [])]
  const client = hops[Math.max(0, hops.length - 1 - trustedProxies)]
  return client !== undefined && isIP(client) ? client : peer
}

/**
 * The address as a key: IPv4 as it is (also when IPv4-mapped, `::ffff:a.b.c.d`), IPv6 by its /64 — one
 * host usually holds a whole /64, so counting single IPv6 addresses would let it rotate past the limits.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return UNKNOWN_ADDRESS
  const bare = address.replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped) return mapped[1]!
  if (isIP(bare) !== 6) return bare
  const [head = '', tail] = bare.toLowerCase().split('::') as [string, string | undefined]
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])))
  const left = groupsOf(head)
  const right = tail === undefined ? [] : groupsOf(tail)
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
