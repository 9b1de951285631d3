import type { RunningBroker } from '../../lib/brokers'
import type { Throughput } from '../../lib/load'
import type { Report } from '../../lib/report'
import { formatRate } from '../../lib/stats'
import type { Backlog } from './backlog'
import type { BrokerRounds, NatsRounds } from './rounds'
import { engineName, MAX_IN_FLIGHT, PARTITIONS, type Engine } from './settings'

/**
 * Figures 14 and 14b (14e, 14be on PGlite): the relay against the raw window and against raw bursts, then
 * the details: each side's rounds, the relay with batchSize 2,000, CPU per event by process, time per page.
 */
export function reportNats(report: Report, engine: Engine, broker: RunningBroker, { rates, relay2000, rounds }: NatsRounds): void {
  const where = engineName(engine)
  const suffix = engine === 'postgres' ? '' : 'e'
  addRatio(report, `14${suffix}`, relayFigure(broker, where), rates.relay, 'raw window', rates.window)
  addRatio(report, `14b${suffix}`, `the same relay against raw ${broker.rawCall} refilling its window in bursts (${where})`, rates.relay, 'raw bursts', rates.bursts)
  report.detail(
    `relay ${where}: raw window ${took(rates.window)}, raw bursts ${took(rates.bursts)}, relay ${took(rates.relay)}; ` +
      `relay with batchSize 2,000 ${formatRate(relay2000.perSecond, 'events/s')} (${(relay2000.perSecond / rates.window.perSecond).toFixed(2)} of raw window; one round, ${took(relay2000)})`,
  )
  const database = rounds.database
  report.detail(
    `relay ${where}: CPU per event: raw window ${rounds.cpu('window').byProcess()}; raw bursts ${rounds.cpu('bursts').byProcess()}; relay ${rounds.cpu('relay').byProcess(database)}; ` +
      `relay 2,000 ${rounds.cpu('relay2000').byProcess(database)}`,
  )
  report.detail(`relay ${where} per page: relay ${rounds.profile('relay').summary(500, rates.window.perSecond)}`)
  report.detail(`relay ${where} per page: relay 2,000 ${rounds.profile('relay2000').summary(2_000, rates.window.perSecond)}`)
}

/**
 * Figures 14r and 14s (14re, 14se on PGlite): the relay against the broker's raw client in bursts, then the
 * details: CPU per event by process, the bound reading the outbox puts on a relay whose client thread is
 * the limit, time per page.
 */
export function reportBroker(report: Report, engine: Engine, broker: RunningBroker, { readUs }: Backlog, { rates, rounds }: BrokerRounds): void {
  const where = engineName(engine)
  const raw = `raw ${broker.rawCall}`
  addRatio(report, `14${broker.id}${engine === 'postgres' ? '' : 'e'}`, relayFigure(broker, where), rates.relay, raw, rates.raw)
  report.detail(
    `relay ${where} → ${broker.name}: ${raw} ${took(rates.raw)}, relay ${took(rates.relay)}; CPU per event: ${raw} ${rounds.cpu('raw').byProcess()}; relay ${rounds.cpu('relay').byProcess(rounds.database)}`,
  )
  const rawUs = rounds.cpu('raw').clientPerOp()
  report.detail(
    `relay ${where} → ${broker.name}: reading the outbox alone costs this process ${readUs.toFixed(1)} µs per event; where the client's one thread is the limit, ` +
      `a relay that reads and publishes in it reaches at most ${raw} client / (that + read) = ${rawUs.toFixed(1)} / ${(rawUs + readUs).toFixed(1)} = ${(rawUs / (rawUs + readUs)).toFixed(2)} of the raw rate`,
  )
  report.detail(`relay ${where} → ${broker.name} per page: ${rounds.profile('relay').summary(500, rates.raw.perSecond)}`)
}

function relayFigure(broker: RunningBroker, where: string): string {
  return `relay → ${broker.name}, outbox on ${where}, batchSize 500 (${PARTITIONS} partitions, ≤ ${MAX_IN_FLIGHT} in flight)`
}

/** A relay figure against a raw ceiling of the same run, the goal 0.8 of it. */
function addRatio(report: Report, id: string, figure: string, relay: Throughput, raw: string, ceiling: Throughput): void {
  const ratio = relay.perSecond / ceiling.perSecond
  report.add({
    id,
    figure,
    value: formatRate(relay.perSecond, 'events/s'),
    ceiling: `${raw} ${formatRate(ceiling.perSecond, 'events/s')}`,
    ratio,
    goal: '≥ 0.80',
    met: ratio >= 0.8,
  })
}

function took(t: Throughput): string {
  return `${t.ops} in ${(t.ms / 1000).toFixed(1)} s`
}
