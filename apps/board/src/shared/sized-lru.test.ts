import { describe, expect, it } from 'vitest'
import { SizedLru } from './sized-lru'

describe('a size-bounded LRU map', () => {
  it('drops the least recently used first, by size and by count', () => {
    const lru = new SizedLru<string>((value) => value.length, { capacity: 3, maxSize: 10 })
    lru.set('a', 'aaa')
    lru.set('b', 'bbb')
    lru.set('c', 'ccc')
    expect(lru.get('a')).toBe('aaa') // now the most recent
    lru.set('d', 'd') // four entries: b goes
    expect([lru.get('b'), lru.usage()]).toEqual([undefined, { entries: 3, size: 7 }])
    lru.set('e', 'eeeeeee') // 14 over 10: c goes, then a (d and e were used after them)
    expect([lru.get('c'), lru.get('a'), lru.get('d'), lru.get('e')]).toEqual([undefined, undefined, 'd', 'eeeeeee'])
    expect(lru.usage()).toEqual({ entries: 2, size: 8 })
  })

  it('keeps no entry over maxEntrySize, and drops what the key held before', () => {
    const lru = new SizedLru<string>((value) => value.length, { maxSize: 100, maxEntrySize: 4 })
    lru.set('k', 'kk')
    lru.set('k', 'kkkkk')
    expect([lru.get('k'), lru.usage()]).toEqual([undefined, { entries: 0, size: 0 }])
    lru.set('k', 'kk')
    lru.delete('k')
    lru.set('j', 'j')
    lru.clear()
    expect(lru.usage()).toEqual({ entries: 0, size: 0 })
  })
})
