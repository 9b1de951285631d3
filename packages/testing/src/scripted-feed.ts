import { comparePositions, type Envelope, type Position, type FeedLag, type FeedPage, type FeedReader, type ReadOptions } from '@tidings/core'

/**
 * A transport that delivers a given script of envelopes: tests build scripts with duplicates and shuffled
 * interleavings of keys. Each delivery gets its own position ("1-<n>"), as a broker's offsets would.
 */
export class ScriptedFeed implements FeedReader {
  private readonly deliveries: Envelope[]

  constructor(
    readonly source: string,
    script: readonly Envelope[],
  ) {
    this.deliveries = script.map((e, i) => ({ ...e, source, position: `1-${i + 1}` }))
  }

  async read(after: Position, limit: number, options: ReadOptions = {}): Promise<FeedPage> {
    const items = this.deliveries.filter((e) => comparePositions(e.position!, after) > 0).slice(0, limit)
    if (items.length === 0 && options.waitMs) await new Promise((r) => setTimeout(r, Math.min(options.waitMs!, 20)))
    return { items, next: items.at(-1)?.position ?? after }
  }

  async lag(after: Position): Promise<FeedLag> {
    return { events: this.deliveries.filter((e) => comparePositions(e.position!, after) > 0).length }
  }

  get lastPosition(): Position {
    return this.deliveries.at(-1)?.position ?? '0'
  }
}

/** Every message twice, keys interleaved at random, each key's messages still in their original order. */
export function duplicatedAndShuffled(messages: readonly Envelope[], random: () => number = Math.random): Envelope[] {
  const byKey = new Map<string, Envelope[]>()
  for (const m of messages) {
    const list = byKey.get(m.key) ?? []
    list.push(m, m)
    byKey.set(m.key, list)
  }
  const queues = [...byKey.values()]
  const out: Envelope[] = []
  while (queues.length > 0) {
    const i = Math.floor(random() * queues.length)
    out.push(queues[i]!.shift()!)
    if (queues[i]!.length === 0) queues.splice(i, 1)
  }
  return out
}

/** A small deterministic PRNG so shuffles can be repeated from a seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
