import { formatSession, mergeToken, parseToken, type TokenSession } from '@tidings/core'
import { POSITION_HEADER } from '@tidings/http'

/** A small HTTP client of the board's API, for tests, benchmarks and the README's walk-through. */
export interface Answer<T = unknown> {
  status: number
  body: T
  position: string | null
  headers: Headers
}

export interface Member {
  memberId: string
  email: string
  nickname: string
  token: string
}

let counter = 0

export class BoardClient {
  /** The last position this client's writes reached in each feed: its session. */
  private positions: TokenSession = new Map()

  constructor(readonly baseUrl: string) {}

  /** Every feed's last token of this client's writes, for reads that must see all of them. */
  session(): string {
    return formatSession(this.positions)
  }

  async call<T = Record<string, unknown>>(method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.Authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['Content-Type'] ??= 'application/json'
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
    })
    const text = await response.text()
    const position = response.headers.get(POSITION_HEADER)
    // Strict: a malformed token from the API is a bug the tests should hear of.
    if (position) this.positions = mergeToken(this.positions, parseToken(position))
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, position, headers: response.headers }
  }

  /**
   * Signs up a new member with unique email and nickname, and logs them in; with `roles`, grants them
   * first with the deployment's operator secret (`TIDINGS_OPERATOR_TOKEN`), so the token carries them.
   */
  async newMember(name = 'm', grant?: { roles: Array<'staff' | 'operator'>; operatorSecret: string }): Promise<Member> {
    const n = `${name}${process.pid % 10_000}x${++counter}`
    const email = `${n}@example.com`
    const signUp = await this.call<{ memberId: string }>('POST', '/api/members', { body: { email, password: 'correct horse', nickname: n } })
    if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${JSON.stringify(signUp.body)}`)
    if (grant) {
      const granted = await this.call('PUT', `/api/members/${signUp.body.memberId}/roles`, { token: grant.operatorSecret, body: { roles: grant.roles } })
      if (granted.status !== 200) throw new Error(`granting roles failed: ${granted.status} ${JSON.stringify(granted.body)}`)
    }
    const login = await this.call<{ token: string }>('POST', '/api/auth/login', { body: { email, password: 'correct horse' } })
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`)
    return { memberId: signUp.body.memberId, email, nickname: n, token: login.body.token }
  }

  createPost(member: Member, body: { title: string; content: string }) {
    return this.call<{ postId: string; version: number }>('POST', '/api/posts', { token: member.token, body })
  }

  addComment(member: Member, postId: string, content: string) {
    return this.call<{ commentId: string; version: number }>('POST', `/api/posts/${postId}/comments`, { token: member.token, body: { content } })
  }

  /** The read side's document; with a position, read-your-writes. */
  document<T = PostDocumentBody>(postId: string, position?: string | null, headers: Record<string, string> = {}) {
    return this.call<T>('GET', `/api/board/posts/${postId}`, { headers: { ...headers, ...(position ? { [POSITION_HEADER]: position } : {}) } })
  }

  /** The list's first page (newest posts); with a position, read-your-writes. */
  list(position?: string | null, headers: Record<string, string> = {}) {
    return this.call<PostListBody>('GET', '/api/board/posts', { headers: { ...headers, ...(position ? { [POSITION_HEADER]: position } : {}) } })
  }
}

export interface PostListBody {
  items: Array<{ postId: string; title: string; writer: { memberId: string; nickname: string | null }; commentCount: number; createdAt: string }>
  nextCursor: string | null
}

export interface PostDocumentBody {
  postId: string
  title: string
  content: string
  writer: { memberId: string; nickname: string | null }
  comments: Array<{ commentId: string; content: string; author: { memberId: string; nickname: string | null }; createdAt: string; editedAt: string | null }>
  commentCount: number
  createdAt: string
  editedAt: string | null
  version: number
}
