import { describe, expect, it } from 'vitest'
import { addressKey, clientAddressOf, UNKNOWN_ADDRESS } from './client-address'

describe('clientAddressOf', () => {
  it('is the peer of the socket, whatever X-Forwarded-For says, without a trusted proxy', () => {
    expect(clientAddressOf('203.0.113.9', '198.51.100.1', 0)).toBe('203.0.113.9')
    expect(clientAddressOf('203.0.113.9', undefined, 0)).toBe('203.0.113.9')
  })

  it('behind one trusted proxy, is the address that proxy appended, not what the client wrote before it', () => {
    // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy (10.0.0.2) appended the address it saw.
    expect(clientAddressOf('10.0.0.2', '1.1.1.1, 198.51.100.7', 1)).toBe('198.51.100.7')
    expect(clientAddressOf('10.0.0.2', '198.51.100.7', 1)).toBe('198.51.100.7')
  })

  it('behind two trusted proxies, is the entry two hops from the peer', () => {
    expect(clientAddressOf('10.0.0.3', '1.1.1.1, 198.51.100.7, 10.0.0.2', 2)).toBe('198.51.100.7')
  })

  it('takes the leftmost entry when there are fewer hops than trusted proxies, and the peer when an entry is not an address', () => {
    expect(clientAddressOf('10.0.0.2', '198.51.100.7', 3)).toBe('198.51.100.7')
    expect(clientAddressOf('10.0.0.2', 'unknown', 1)).toBe('10.0.0.2')
    expect(clientAddressOf('10.0.0.2', '', 1)).toBe('10.0.0.2')
    expect(clientAddressOf('10.0.0.2', undefined, 1)).toBe('10.0.0.2')
  })
})

describe('addressKey', () => {
  it('keeps IPv4 as it is, also IPv4-mapped IPv6', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9')
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1')
  })

  it('counts IPv6 by its /64, however it is written', () => {
    const key = '2001:db8:1:2::/64'
    expect(addressKey('2001:db8:1:2::1')).toBe(key)
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(key)
    expect(addressKey('2001:DB8:1:2:a:b:c:d%eth0')).toBe(key)
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('2001:db8:1:2::1.2.3.4')).toBe(key)
  })

  it('has one key for requests without an address', () => {
    expect(addressKey(undefined)).toBe(UNKNOWN_ADDRESS)
    expect(addressKey('')).toBe(UNKNOWN_ADDRESS)
  })
})
