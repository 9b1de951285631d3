import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { idempotent, uuid, validBody, validQuery, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { charge, MAX_CHARGE } from './wallet'
import type { WalletRepository } from './wallet.repository'

/** A charge the member makes (exported for the fuzz suite). */
export const ChargeBody = z.strictObject({ amount: z.number().int().min(1).max(MAX_CHARGE) })
const LedgerPage = z.object({ after: uuid.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) })

/**
 * The signed-in member's own wallet: charge it, read the balance and the ledger. There is no route to
 * anyone else's: the wallet is the caller's, by its token. Payments and refunds come from the payment
 * saga, never from a request.
 */
export function walletRoutes({ db, uow, wallets, verify }: { db: Database; uow: UnitOfWork; wallets: WalletRepository; verify: TokenVerifier }): Hono<MemberEnv> {
  const routes = new Hono<MemberEnv>()

  routes.post('/api/wallet/charges', requireMember(verify), idempotent(uow), validBody(ChargeBody), async (c) => {
    const memberId = c.get('memberId')
    const { result, token } = await uow.run(async (tx) => {
      const { state, events } = charge(await wallets.walletForUpdate(tx, memberId), c.req.valid('json').amount)
      await wallets.save(tx, state)
      tx.record(...events)
      return state.balance
    })
    withPosition(c, token)
    return c.json({ balance: result })
  })

  routes.get('/api/wallet', requireMember(verify), async (c) => c.json({ balance: (await wallets.wallet(db, c.get('memberId')))?.balance ?? 0 }))

  routes.get('/api/wallet/ledger', requireMember(verify), validQuery(LedgerPage), async (c) => {
    const page = c.req.valid('query')
    const items = await wallets.ledger(db, c.get('memberId'), page)
    return c.json({ items, nextCursor: items.length === page.limit ? items.at(-1)!.entryId : null })
  })

  return routes
}
