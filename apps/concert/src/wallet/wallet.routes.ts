import { Hono } from 'hono'
import * as z from 'zod'
import { requireMember, type MemberEnv, type TokenVerifier } from '@tidings/auth'
import { idempotent, NO_STORE, validBody, validQuery, withPosition } from '@tidings/http'
import type { Database, UnitOfWork } from '@tidings/postgres'
import { charge, MAX_CHARGE } from './wallet'
import type { WalletRepository } from './wallet.repository'

/** A charge the member makes (exported for the fuzz suite). */
export const ChargeBody = z.strictObject({ amount: z.number().int().min(1).max(MAX_CHARGE) })
/** `after`: the `nextCursor` of the page before (a movement's number in the member's ledger). */
const LedgerPage = z.object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) })

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
    return c.json({ balance: result }, 200, NO_STORE)
  })

  routes.get('/api/wallet', requireMember(verify), async (c) => c.json({ balance: (await wallets.wallet(db, c.get('memberId')))?.balance ?? 0 }, 200, NO_STORE))

  routes.get('/api/wallet/ledger', requireMember(verify), validQuery(LedgerPage), async (c) => {
    const page = c.req.valid('query')
    const entries = await wallets.ledger(db, c.get('memberId'), page)
    const items = entries.map(({ version: _, ...item }) => item)
    return c.json({ items, nextCursor: entries.length === page.limit ? String(entries.at(-1)!.version) : null }, 200, NO_STORE)
  })

  return routes
}
