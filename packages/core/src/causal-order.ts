import type { Envelope, EnvelopeMeta } from './envelope'
import { TidingsError } from './errors'
import { comparePositions, formatToken, MAX_SESSION_FEEDS, mergeToken, parseSessionLeniently, sessionTokens, type ConsistencyToken, type Position, type TokenSession } from './position'

/**
 * Causal order across feeds. An event may name positions on other feeds that it was written after
 * (`meta.after`: "board.post@745-12", …) — a command's session, or the events its unit of work reacted to.
 * A consumer that follows such a feed applies the event only once it has applied that feed up to the named
 * position; a feed it does not follow cannot be waited for, and is ignored.
 */

/** The meta that makes a unit of work's events come after these positions (at most one per feed, the newest). */
export function afterPositions(tokens: Iterable<ConsistencyToken | string> | TokenSession | undefined): EnvelopeMeta {
  if (tokens === undefined) return {}
  let session: TokenSession = new Map()
  const each: Iterable<ConsistencyToken | string> = tokens instanceof Map ? sessionTokens(tokens as TokenSession) : (tokens as Iterable<ConsistencyToken | string>)
  for (const token of each) session = mergeToken(session, token)
  return session.size === 0 ? {} : { after: sessionTokens(session).map(formatToken) }
}

/** The meta with `after` replaced by these positions, well-formed (a consumer would refuse a malformed one). */
export function withAfter(meta: EnvelopeMeta, positions: Iterable<ConsistencyToken | string>): EnvelopeMeta {
  const rest = Object.fromEntries(Object.entries(meta).filter(([name]) => name !== 'after')) as EnvelopeMeta
  return { ...rest, ...afterPositions(positions) }
}

/** Where a message sits in its producer's feed (kept in `meta.sourcePosition` when it came through a broker). */
export function positionOf(message: Envelope): ConsistencyToken | undefined {
  const position = message.meta.sourcePosition ?? message.position
  return position === undefined ? undefined : { source: message.source, position }
}

/** The positions an event names in `meta.after`; malformed entries (a producer's bug) name nothing. */
export function dependenciesOf(envelope: Envelope): ConsistencyToken[] {
  const after: unknown = envelope.meta?.after
  if (!Array.isArray(after) || after.length === 0) return []
  const strings = after.filter((a): a is string => typeof a === 'string').slice(0, MAX_SESSION_FEEDS)
  return sessionTokens(parseSessionLeniently(strings.join(',')))
}

/** Not followed by this consumer: a dependency on it is not waited for. */
export const NOT_FOLLOWED = Symbol('not followed')

/**
 * How far a consumer has applied a feed, in its producer's positions (undefined: nothing yet), or
 * `NOT_FOLLOWED`. It must count only what has committed. `via` is what to read the database with: the
 * transaction the question is asked in (an embedded database has one connection), else its own.
 */
export type AppliedPosition<Via = unknown> = (source: string, via?: Via) => Promise<Position | undefined | typeof NOT_FOLLOWED>

/** The first position the event names that the consumer follows and has not applied yet; undefined when none. */
export async function unmetDependency<Via>(envelope: Envelope, applied: AppliedPosition<Via>, via?: Via): Promise<ConsistencyToken | undefined> {
  for (const dependency of dependenciesOf(envelope)) {
    const reached = await applied(dependency.source, via)
    if (reached === NOT_FOLLOWED) continue
    if (reached === undefined || comparePositions(reached, dependency.position) < 0) return dependency
  }
  return undefined
}

/** A held event whose dependency was not applied within the consumer's hold limit: it is dead-lettered. */
export class DependencyNotReached extends TidingsError {
  constructor(readonly dependency: ConsistencyToken, heldMs: number) {
    super(
      'CAUSAL_DEPENDENCY_NOT_REACHED',
      'unprocessable',
      `Held ${Math.round(heldMs / 1000)} s waiting for ${formatToken(dependency)}, which this consumer has not applied`,
      { after: formatToken(dependency) },
    )
  }
}
