/** A prefix the transport can put in front of every stream key: any but the empty one. */
export function checkPrefix(prefix: string): string {
  if (prefix.length === 0) throw new RangeError('prefix must not be empty')
  return prefix
}

/** The stream that holds one partition of a source: `<prefix>:<source>:<partition>`. */
export const streamKey = (prefix: string, source: string, partition: number): string => `${prefix}:${source}:${partition}`
