import * as z from 'zod'
import { uuid } from '@tidings/http'

export const OrderIdParams = z.object({ orderId: uuid })

/** Customer ids come from elsewhere (a CRM, a shop): printable, 1 to 64 letters, digits, _, . or -. */
export const CustomerId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, _, . or -')

/** Free text for an address: no control characters (tabs and line breaks allowed), 1 to 500 characters. */
export const Address = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .refine((s) => !/(?![\t\n\r])\p{Cc}/u.test(s) && !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s), 'must not contain control characters or lone surrogates')
  .refine((s) => s.length >= 1 && s.length <= 500, 'must be 1 to 500 characters')
