import { InvalidSourceName } from './nats-errors'

/** Dot-separated tokens of the characters an envelope's source may hold: no wildcards, no empty token. */
const SOURCE = /^[A-Za-z0-9_:-]+(?:\.[A-Za-z0-9_:-]+)*$/

export function checkSource(source: string): string {
  if (source.length > 200 || !SOURCE.test(source)) throw new InvalidSourceName(source)
  return source
}

const sanitize = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_')

/** The JetStream stream that holds every partition of a source. */
export const streamName = (source: string): string => `TIDINGS_${sanitize(checkSource(source))}`

/** All partitions of a source: `tidings.<source>.*`. */
export const sourceSubjects = (source: string): string => `tidings.${checkSource(source)}.*`

/** One partition's subject: `tidings.<source>.<partition>`. */
export const partitionSubject = (source: string, partition: number): string => `tidings.${checkSource(source)}.${partition}`

/**
 * The durable consumer through which one reader of a Tidings consumer reads a partition and shows its
 * progress: `<consumer>-<partition>-<reader>`, the reader's own (`reader` tells it from other instances').
 */
export const consumerName = (consumer: string, partition: number, reader: string): string => `${sanitize(consumer)}-${partition}-${sanitize(reader)}`
