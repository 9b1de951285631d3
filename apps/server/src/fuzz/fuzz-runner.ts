import { Agent } from 'node:http'
import { type DatabaseWatch, type Fingerprint, fingerprintDiff, NotSettled } from './db-fingerprint'
import { type FuzzRequest, type FuzzResponse, isSafeMethod, send, type SentRequest, StaleSocket } from './fuzz-request'
import { refreshMember, resolveCredential, type World } from './fuzz-world'
import { describeRequest, traitsOf } from './fuzz-report'
import { checkResponse, type Finding, isDesignedUnavailable, isRecordedRefusal, problemCode } from './response-checks'

export interface Violation extends Finding {
  route: string
  request: string
  status?: number
  answer?: string
}

export interface FuzzReport {
  sent: number
  byRoute: Map<string, number>
  /** Per route, how many got each status (with the problem's code, when there is one). */
  byRouteStatus: Map<string, Map<string, number>>
  byStatus: Map<number, number>
  byMethod: Map<string, number>
  /** What the requests carried: credentials by kind, and kinds of body. */
  byTrait: Map<string, number>
  accepted: number
  refused: number
  designedUnavailable: number
  /** Event streams whose connection closed under them after their first event (`send` reads 200 ms of each). */
  streamsCut: string[]
  fingerprints: number
  /** Where the time went, in ms: fingerprints, waiting for the consumers, and everything else. */
  timings: { fingerprint: number; settle: number; byRoute: Map<string, number>; settleAfter: Map<string, number> }
  violations: Violation[]
}

/** Reads are sent this many at a time, and fingerprinted around the whole batch. */
const BATCH = 24
const REQUEST_TIMEOUT_MS = 15_000

/**
 * Sends the requests in order against the running server and checks every answer. Requests that may
 * write (any method but GET, HEAD, OPTIONS) go one at a time, each refused one between two fingerprints;
 * reads go in concurrent batches between two fingerprints, and a batch that changed anything is sent
 * again one by one to name the culprit. After anything accepted the fuzz waits for the consumers to catch
 * up (`waitSettled`) before it takes the next fingerprint.
 */
export class FuzzRunner {
  private baseline: Fingerprint | undefined
  /** Writes of the fuzz's own (giving staff their role back before signing in again): not the request's doing. */
  private ownWrites = 0
  /** The route of the last request that may have written: what a wait for the consumers is waiting out. */
  private lastAccepted = ''
  readonly report: FuzzReport = { sent: 0, byRoute: new Map(), byRouteStatus: new Map(), byTrait: new Map(), byStatus: new Map(), byMethod: new Map(), accepted: 0, refused: 0, designedUnavailable: 0, streamsCut: [], fingerprints: 0, timings: { fingerprint: 0, settle: 0, byRoute: new Map(), settleAfter: new Map() }, violations: [] }

  /**
   * Writes go on a new connection each: a kept-alive one the server closes as idle just as a request is
   * written to it may still have handed that request to its handler, so sending a write again after a
   * "stale socket" could apply it twice (seen: a sign-up committed, its repeat answered EMAIL_TAKEN).
   */
  private readonly writeAgent = new Agent({ keepAlive: false })

  constructor(
    private readonly world: World,
    private readonly watch: DatabaseWatch,
    private readonly agent: Agent,
  ) {}

  async run(requests: readonly FuzzRequest[], onProgress?: (done: number) => void): Promise<FuzzReport> {
    let batch: FuzzRequest[] = []
    for (const [i, request] of requests.entries()) {
      if (isSafeMethod(request.method)) {
        batch.push(request)
        if (batch.length >= BATCH) batch = await this.runBatch(batch)
      } else {
        batch = await this.runBatch(batch)
        await this.runWrite(request)
      }
      if (i % 1000 === 999) onProgress?.(i + 1)
    }
    await this.runBatch(batch)
    return this.report
  }

  private async runWrite(request: FuzzRequest): Promise<void> {
    const before = await this.settledBaseline()
    const own = this.ownWrites
    const outcome = await this.sendChecked(request)
    if (!outcome) return void (this.baseline = undefined)
    if (!outcome.refused || own !== this.ownWrites) return void (this.baseline = undefined)
    const after = await this.fingerprint()
    const diff = fingerprintDiff(before, after)
    if (diff.length > 0) {
      this.violation(request, outcome.sent, outcome.response, { kind: 'db-changed', detail: `a refused request changed: ${diff.join('; ')}` })
      this.baseline = undefined
    } else {
      this.baseline = after
    }
  }

  /** Returns an empty batch to fill next. */
  private async runBatch(batch: FuzzRequest[]): Promise<FuzzRequest[]> {
    if (batch.length === 0) return batch
    const before = await this.settledBaseline()
    const own = this.ownWrites
    const queue = [...batch]
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await this.sendChecked(next)
      }),
    )
    if (own !== this.ownWrites) {
      this.baseline = undefined
      return []
    }
    const after = await this.fingerprint()
    if (fingerprintDiff(before, after).length === 0) {
      this.baseline = after
      return []
    }
    // Something in the batch wrote: send each again between two fingerprints to name it.
    this.baseline = undefined
    let named = false
    for (const request of batch) {
      const alone = await this.settledBaseline()
      const ownBefore = this.ownWrites
      const outcome = await this.sendChecked(request, { count: false })
      const changed = fingerprintDiff(alone, await this.fingerprint())
      this.baseline = undefined
      if (outcome && changed.length > 0 && ownBefore === this.ownWrites) {
        named = true
        this.violation(request, outcome.sent, outcome.response, { kind: 'db-changed', detail: `a ${outcome.refused ? 'refused' : 'accepted'} read changed: ${changed.join('; ')}` })
      }
    }
    if (!named) this.violation(batch[0]!, this.resolve(batch[0]!), undefined, { kind: 'db-changed', detail: `a batch of ${batch.length} reads changed ${fingerprintDiff(before, after).join('; ')}, and none did alone` })
    return []
  }

  private async sendChecked(request: FuzzRequest, options: { count?: boolean } = {}): Promise<{ sent: SentRequest; response: FuzzResponse; refused: boolean } | undefined> {
    const sent = this.resolve(request)
    if (options.count !== false) this.count(request)
    let response: FuzzResponse
    const started = performance.now()
    try {
      const read = isSafeMethod(sent.method)
      response = await send(this.world.baseUrl, read ? this.agent : this.writeAgent, sent, request, REQUEST_TIMEOUT_MS).catch((error: unknown) => {
        // Only a read is sent again: it changes nothing however often it arrives.
        if (read && error instanceof StaleSocket) return send(this.world.baseUrl, this.agent, sent, request, REQUEST_TIMEOUT_MS)
        throw error
      })
    } catch (error) {
      this.violation(request, sent, undefined, { kind: 'no-answer', detail: String(error) })
      return undefined
    }
    this.report.timings.byRoute.set(request.route, (this.report.timings.byRoute.get(request.route) ?? 0) + performance.now() - started)
    if (options.count !== false) {
      this.report.byStatus.set(response.status, (this.report.byStatus.get(response.status) ?? 0) + 1)
      const statuses = this.report.byRouteStatus.get(request.route) ?? new Map<string, number>()
      const key = `${response.status}${response.status >= 400 ? ` ${problemCode(response) ?? ''}` : ''}`.trim()
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
      this.report.byRouteStatus.set(request.route, statuses)
    }
    if (response.cut) this.report.streamsCut.push(`${sent.method} ${sent.path}: ${response.cut}`)
    // A request sent again (to name what wrote in a batch) was judged the first time.
    if (options.count !== false) for (const finding of checkResponse(request, sent, response)) this.violation(request, sent, response, finding)
    const designed = isDesignedUnavailable(sent, response)
    if (designed) this.report.designedUnavailable++
    const toLogin = sentToLogin(request, response)
    const refused = ((response.status >= 400 && response.status < 500) || designed || toLogin) && !isRecordedRefusal(response)
    if (options.count !== false) {
      if (refused) this.report.refused++
      else this.report.accepted++
    }
    await this.afterAnswer(request, response)
    return { sent, response, refused }
  }

  /** Keeps the world's tokens good: a fuzzed log-out or password change revokes them. */
  private async afterAnswer(request: FuzzRequest, response: FuzzResponse): Promise<void> {
    const credential = request.auth?.credential
    if (credential?.kind !== 'token') return
    const who = credential.who
    const ok = response.status >= 200 && response.status < 300
    if (ok && request.route === 'PUT /api/members/me/password' && request.method === 'PUT') {
      const body = request.body?.kind === 'bytes' ? request.body.bytes.toString('utf8').replace(/^\uFEFF/, '') : ''
      this.world.members[who].token = (JSON.parse(response.body) as { token: string }).token
      try {
        this.world.members[who].password = (JSON.parse(body) as { newPassword: string }).newPassword
      } catch {
        // The server read a password out of bytes we cannot: the new token still works until it expires.
      }
    } else if ((ok && request.route === 'POST /api/auth/logout' && request.method === 'POST') || (response.status === 401 && problemCode(response) === 'TOKEN_REVOKED')) {
      this.ownWrites++
      await refreshMember(this.world, who)
      this.baseline = undefined
    }
    if (!isSafeMethod(request.method) && !(response.status >= 400 && response.status < 500) && !sentToLogin(request, response)) {
      this.baseline = undefined
      this.lastAccepted = request.route
    }
  }

  private resolve(request: FuzzRequest): SentRequest {
    const headers = { ...request.headers }
    let path = request.path
    const auth = request.auth
    if (auth) {
      const value = resolveCredential(this.world, auth.credential)
      if (auth.placement.in === 'authorization') headers.authorization = auth.placement.template.replaceAll('{}', value)
      else if (auth.placement.in === 'query') path += `${path.includes('?') ? '&' : '?'}${auth.placement.name}=${encodeURIComponent(value)}`
      else headers.cookie = [headers.cookie, `${auth.placement.name}=${value}`].filter(Boolean).join('; ')
    }
    const body = request.body?.kind === 'bytes' ? request.body.bytes : request.body ? { size: request.body.size, prefix: request.body.prefix } : undefined
    // Framed explicitly: Node's client frames a GET, DELETE or OPTIONS body with neither length nor chunks,
    // and the server would read it as the next request.
    if (request.body) {
      const chunked = request.body.kind === 'bytes' ? (request.body.chunks ?? 1) > 1 : request.body.chunked
      if (chunked) headers['transfer-encoding'] = 'chunked'
      else headers['content-length'] = String(request.body.kind === 'bytes' ? request.body.bytes.length : Math.max(request.body.size, Buffer.byteLength(request.body.prefix)))
    }
    return { route: request.route, method: request.method, path: onTheWire(path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path), headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, headerSafe(v)])), ...(body ? { body } : {}) }
  }

  private count(request: FuzzRequest): void {
    const r = this.report
    r.sent++
    r.byRoute.set(request.route, (r.byRoute.get(request.route) ?? 0) + 1)
    r.byMethod.set(request.method, (r.byMethod.get(request.method) ?? 0) + 1)
    for (const trait of traitsOf(request)) r.byTrait.set(trait, (r.byTrait.get(trait) ?? 0) + 1)
  }

  /** The fingerprint to compare against, taken once the consumers have caught up with everything accepted. */
  private async settledBaseline(): Promise<Fingerprint> {
    if (this.baseline) return this.baseline
    const started = performance.now()
    try {
      await this.watch.waitSettled()
    } catch (error) {
      if (!(error instanceof NotSettled)) throw error
      this.report.violations.push({ kind: 'db-changed', route: '(consumers)', request: '', detail: error.message })
    }
    const waited = performance.now() - started
    this.report.timings.settle += waited
    this.report.timings.settleAfter.set(this.lastAccepted, (this.report.timings.settleAfter.get(this.lastAccepted) ?? 0) + waited)
    this.baseline = await this.fingerprint()
    return this.baseline
  }

  private async fingerprint(): Promise<Fingerprint> {
    this.report.fingerprints++
    const started = performance.now()
    try {
      return await this.watch.fingerprint()
    } finally {
      this.report.timings.fingerprint += performance.now() - started
    }
  }

  private violation(request: FuzzRequest, sent: SentRequest, response: FuzzResponse | undefined, finding: Finding): void {
    this.report.violations.push({
      ...finding,
      route: request.route,
      request: describeRequest(sent),
      ...(response ? { status: response.status, answer: `${String(response.headers['content-type'] ?? '')} ${response.body.slice(0, 600)}` } : {}),
    })
  }
}

/**
 * A page that sends the browser to log in has done nothing else — but the sign-up form, which joins first,
 * goes there too when the log-in after it is refused (the sign-in limits).
 */
const sentToLogin = (request: FuzzRequest, response: FuzzResponse): boolean =>
  response.status === 303 && String(response.headers.location ?? '').startsWith('/login') && request.route !== 'POST /signup'

/** Node's server answers a request line and headers over 16 KiB itself (a bare 431): the app is what is fuzzed. */
const MAX_PATH = 8_000
/** Node's client refuses other bytes in a header value (and the server would never see them). */
const headerSafe = (value: string): string => value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '')
/** Node's client refuses spaces and characters past U+00FF in a path: those go percent-encoded. */
const onTheWire = (path: string): string => path.replace(/[^\x21-\xff]/gu, (ch) => encodeURIComponent(ch.replace(/[\uD800-\uDFFF]/g, '\uFFFD')))
