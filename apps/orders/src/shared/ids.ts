import * as z from 'zod'
import { userText, uuid } from '@tidings/http'

export const OrderIdParams = z.object({ orderId: uuid })

/** Free text for an address: well-formed, no control characters (line breaks allowed), 1 to 500 characters. */
export const Address = userText(1, 500, { multiline: true })
