/**
 * For the pages' end-to-end tests: a browser reduced to what the pages rely on — cookies carried by hand,
 * redirects not followed (so each 303 and its Location can be asserted), forms posted url-encoded with the
 * Origin a browser would send.
 */
export interface PageAnswer {
  status: number
  location: string | null
  contentType: string | null
  html: string
  /** The page's text as a reader sees it: no head, no tags, entities decoded, spaces collapsed. */
  text: string
  setCookies: string[]
  headers: Headers
}

export class TestBrowser {
  readonly cookies = new Map<string, string>()

  constructor(
    readonly baseUrl: string,
    /** What the browser says it comes from on a POST; another site's when testing CSRF. */
    readonly origin: string = baseUrl,
  ) {}

  get(path: string, headers: Record<string, string> = {}): Promise<PageAnswer> {
    return this.send('GET', path, undefined, headers)
  }

  /** Posts a form; a string or bytes are sent as they are (oversized or hand-made bodies). */
  post(path: string, form: Record<string, string | string[]> | string | Uint8Array, headers: Record<string, string> = {}): Promise<PageAnswer> {
    const body = typeof form === 'string' || form instanceof Uint8Array ? form : encodeForm(form)
    return this.send('POST', path, body, { 'Content-Type': 'application/x-www-form-urlencoded', Origin: this.origin, ...headers })
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  private async send(method: string, path: string, body: string | Uint8Array | undefined, headers: Record<string, string>): Promise<PageAnswer> {
    const cookie = this.cookieHeader()
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(cookie ? { Cookie: cookie } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    })
    const setCookies = response.headers.getSetCookie()
    for (const line of setCookies) this.keep(line)
    const html = await response.text()
    return { status: response.status, location: response.headers.get('location'), contentType: response.headers.get('content-type'), html, text: visibleText(html), setCookies, headers: response.headers }
  }

  private keep(setCookie: string): void {
    const [pair = '', ...attributes] = setCookie.split(';')
    const at = pair.indexOf('=')
    const name = pair.slice(0, at).trim()
    const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
    if (expired) this.cookies.delete(name)
    else this.cookies.set(name, pair.slice(at + 1).trim())
  }
}

export function encodeForm(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) params.append(name, v)
  return params.toString()
}

export function visibleText(html: string): string {
  return html
    .replace(/<head>[\s\S]*?<\/head>/i, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
}

/** The value of the `name` attribute's element's `value` (the first), as the page renders it (entities kept). */
export function inputValue(html: string, name: string): string | undefined {
  const tag = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html)?.[0]
  return tag ? /\bvalue="([^"]*)"/.exec(tag)?.[1] : undefined
}

/** A browser that has just signed a new member up through the form: it is logged in. */
export async function signedUpBrowser(baseUrl: string, nickname: string): Promise<TestBrowser> {
  const browser = new TestBrowser(baseUrl)
  const answer = await browser.post('/signup', { email: `${nickname}@example.com`, password: 'correct horse', nickname })
  if (answer.status !== 303) throw new Error(`sign-up of ${nickname} answered ${answer.status}: ${answer.text}`)
  return browser
}
