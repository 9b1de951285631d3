import { Hono } from 'hono'
import * as z from 'zod'
import type { TidingsError } from '@tidings/core'
import { stateIdsQuery } from './state-lookup'
import { validParams, validQuery } from './validation'

export interface StateRoutesOptions<S> {
  /** One entity's state, as `httpStateLookup` asks for it: `(id) => /internal/posts/${id}`. */
  path: (id: string) => string
  /** Many entities' state, as `httpStatesLookup` asks for it: `?ids=a,b,c` answers `{ items }`. */
  batchPath: string
  /** What an id looks like (e.g. `uuid`); anything else is a 400. */
  id: z.ZodType<string, string>
  /** The states of the ids that exist, in any order (one read serves both paths). */
  states(ids: string[]): Promise<S[]>
  /** The error of an id with no state (kind `not_found`: a 404, which the lookup reads as "gone"). */
  notFound(id: string): TidingsError
}

/** The server half of the zero-payload lookups (`httpStateLookup`, `httpStatesLookup`): an entity's latest state by id. */
export function stateRoutes<S>(options: StateRoutesOptions<S>): Hono {
  const routes = new Hono()
  routes.get(options.path(':id'), validParams(z.object({ id: options.id })), async (c) => {
    const { id } = c.req.valid('param')
    const [state] = await options.states([id])
    if (state === undefined) throw options.notFound(id)
    return c.json(state)
  })
  routes.get(options.batchPath, validQuery(stateIdsQuery(options.id)), async (c) => c.json({ items: await options.states(c.req.valid('query').ids) }))
  return routes
}
