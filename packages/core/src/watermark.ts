import type { Envelope } from './envelope'
import { uuidv7 } from './ids'
import { partitionOf } from './transport'

/**
 * The relay's control message: "this source has been published up to `position`". Consumers apply no
 * handler and keep no inbox entry for it; they only note the position, so a partition that got none of a
 * page's events still shows it has seen the page (see `watermarksAfter`).
 */
export const WATERMARK_TYPE = 'tidings.Watermark'

export const isWatermark = (envelope: Envelope): boolean => envelope.type === WATERMARK_TYPE

const keys = new Map<string, string>()

/** A key that lands in `partition` (the first of `tidings:watermark:<n>` that does), found once per count. */
export function partitionKey(partition: number, partitions: number): string {
  const memo = `${partition}/${partitions}`
  let key = keys.get(memo)
  if (key === undefined) {
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) throw new RangeError(`no partition ${partition} of ${partitions}`)
    for (let n = 0; key === undefined; n++) if (partitionOf(`tidings:watermark:${n}`, partitions) === partition) key = `tidings:watermark:${n}`
    keys.set(memo, key)
  }
  return key
}

/**
 * What the relay publishes behind a page of a partitioned source: a watermark at the page's last event for
 * every partition that did not get that event. Each partition then holds something at or past every event
 * of the page, so a consumer that has applied all partitions up to a producer's position has applied every
 * event of the source up to it — the condition a consistency token waits for. With one partition there is
 * nothing to add.
 */
export function watermarksAfter(source: string, page: readonly Envelope[], partitions: number): Envelope[] {
  const last = page.at(-1)
  if (!last?.position || partitions <= 1) return []
  const holdsLast = partitionOf(last.key, partitions)
  return Array.from({ length: partitions }, (_, p) => p)
    .filter((p) => p !== holdsLast)
    .map((p) => ({ id: uuidv7(), type: WATERMARK_TYPE, source, key: partitionKey(p, partitions), position: last.position, occurredAt: last.occurredAt, data: {}, meta: {} }))
}
