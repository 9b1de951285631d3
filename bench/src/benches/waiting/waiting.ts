import type { Report } from '../../lib/report'
import { dropPrefix, rawRedis, REDIS_URL, uniquePrefix } from '../../lib/waiting-room'
import type { Workbench } from '../../lib/workbench'
import { wrkInstalled } from '../../lib/wrk'
import { capacityInUse } from './churn'
import { estimateAccuracy } from './estimate'
import { fillRoom, startHttpRoom } from './http-room'
import { CROWD, HTTP_CROWD } from './measure'
import { statusPolling } from './polling'
import { push } from './push'
import { crowd, httpEnqueue, libraryEnqueue, postgresFootprint, reportFootprint } from './spike'

/** Members who warm the HTTP server up on another concert before the spike (and one more for a sample answer). */
const WARM_UP = 5_000

/**
 * The waiting room's figures 21–25 on the shared Redis (keys under a prefix of this run, deleted at the
 * end) and PostgreSQL: the 100,000-member spike through the library, 20,000 of it over HTTP, and the
 * room's memory (21, 21b, 21m); status polling with 100,000 waiting (22, 22b); the push channel with 20,000 connections
 * (23, 23b, 23c); estimated waits against actual ones (24); the capacity in use under churn (25).
 */
export async function waiting(bench: Workbench, report: Report): Promise<void> {
  const prefix = uniquePrefix()
  const redis = rawRedis()
  bench.adopt(async () => {
    await dropPrefix(redis, prefix)
    redis.disconnect()
  })
  console.log(`     (Redis ${REDIS_URL}, keys under ${prefix}:*)`)
  const members = crowd()
  // The concert system signs its crowd's tokens as it starts; meanwhile the PostgreSQL footprint, which is not timed.
  const starting = startHttpRoom(bench, HTTP_CROWD + WARM_UP + 1, 100)
  starting.catch(() => {}) // awaited below
  const pg = await postgresFootprint(bench, members)
  const room = await starting
  reportFootprint(report, CROWD, await libraryEnqueue(report, redis, prefix, members), pg)
  if (wrkInstalled()) {
    const { tokens } = room
    const spike = await httpEnqueue(bench, report, room, tokens.slice(0, HTTP_CROWD), tokens.slice(HTTP_CROWD, HTTP_CROWD + WARM_UP), tokens[HTTP_CROWD + WARM_UP]!)
    await fillRoom(room, spike.concertId, CROWD)
    await statusPolling(bench, report, room, spike.concertId)
  } else {
    console.warn('     SKIPPED 21b, 22: wrk is not installed (apt-get install -y wrk)')
  }
  await room.stop()
  await push(bench, report, redis, prefix)
  await estimateAccuracy(report, redis, prefix)
  await capacityInUse(report, redis, prefix)
}
