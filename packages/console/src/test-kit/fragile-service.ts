import { Hono } from 'hono'
import * as z from 'zod'
import { uuidv7, type ConsumerDefinition } from '@tidings/core'
import { openProducer, openSubscription, validBody, withPosition, type Service, type ServiceContext } from '@tidings/http'
import { schemaName, type Queryable } from '@tidings/postgres'

export const PARCELS = 'ops.parcels'
export const LABEL_PRINTER = 'ops.label-printer'

export interface FragileService {
  service: Service
  /** While broken, the consumer fails on every label that contains "poison". */
  printer: { broken: boolean }
  /** The labels the consumer has printed, in order. */
  printed(): Promise<string[]>
}

/**
 * A small service whose consumer can be broken on purpose: `POST /api/parcels {label, parcelId?, voided?}`
 * records a `ParcelLabelled` (or `ParcelVoided`) event keyed by the parcel, and the label printer (a subscription, two attempts) prints it — or, while
 * broken, fails on a poison label, which then lands in dead letters until it is replayed after the fix.
 */
export async function fragileService(ctx: ServiceContext, schema = 'ops_fragile'): Promise<FragileService> {
  const s = schemaName(schema)
  const migrations = [{ version: 1, name: 'printed labels', up: (q: string) => `CREATE TABLE ${q}.printed (seq bigserial PRIMARY KEY, label text NOT NULL)` }]
  const { uow, feed } = await openProducer(ctx, schema, PARCELS, migrations)
  const printer = { broken: true }
  const consumer: ConsumerDefinition<Queryable> = {
    name: LABEL_PRINTER,
    follows: [PARCELS],
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    async handle(tx, event) {
      if (event.type !== 'ParcelLabelled') return
      const { label } = event.data as { label: string }
      if (printer.broken && label.includes('poison')) throw new Error(`label printer jammed on ${JSON.stringify(label)}`)
      await tx.query(`INSERT INTO ${s}.printed (label) VALUES ($1)`, [label])
    },
    reset: async (tx) => void (await tx.query(`DELETE FROM ${s}.printed`)),
  }
  const subscription = await openSubscription(ctx, schema, consumer, [feed])

  const routes = new Hono()
  const Parcel = z.object({ label: z.string().min(1).max(200), parcelId: z.string().max(100).optional(), voided: z.boolean().optional() })
  routes.post('/api/parcels', validBody(Parcel), async (c) => {
    const { label, parcelId, voided } = c.req.valid('json')
    const type = voided ? 'ParcelVoided' : 'ParcelLabelled'
    const { token } = await uow.run(async (tx) => tx.record({ type, key: parcelId ?? uuidv7(), data: { label } }))
    withPosition(c, token)
    return c.json({ label }, 201)
  })

  return {
    service: { name: 'ops.fragile', routes, feeds: { [PARCELS]: feed }, subscriptions: [subscription], producerSchemas: [schema], consumerSchemas: [schema] },
    printer,
    printed: async () => (await ctx.db.query<{ label: string }>(`SELECT label FROM ${s}.printed ORDER BY seq`)).rows.map((r) => r.label),
  }
}
