import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Board } from '../board'
import type { BoardClient, Member } from './board-client'
import { TEST_SERVICE_CREDENTIAL } from './serve-board'

/** A running board as its end-to-end suite sees it: an HTTP client, and the board itself when it runs in this process. */
export interface OpenedBoard {
  client: BoardClient
  board?: Board
  stop(): Promise<void>
}

/**
 * The board's end-to-end suite, over HTTP: in this process (`serveBoard`), or as `npm run start:cluster`
 * over a broker, through its one entry point. `inProcess` adds the tests that look inside the process.
 */
export function boardEndToEnd(name: string, open: () => Promise<OpenedBoard>, options: { inProcess: boolean; timeoutMs?: number }): void {
  describe(name, () => {
    let opened: OpenedBoard
    let api: BoardClient
    let ann: Member
    let bob: Member

    beforeAll(async () => {
      opened = await open()
      api = opened.client
      ann = await api.newMember('ann')
      bob = await api.newMember('bob')
    }, options.timeoutMs)
    afterAll(() => opened?.stop())

    it('signs up, logs in and answers who I am', async () => {
      const me = await api.call('GET', '/api/members/me', { token: ann.token })
      expect(me).toMatchObject({ status: 200, body: { memberId: ann.memberId, email: ann.email, nickname: ann.nickname } })
      const signUp = await api.call('POST', '/api/members', { body: { email: 'Carol@Example.com', password: 'long enough', nickname: 'carol' } })
      expect(signUp.status).toBe(201)
      expect(signUp.body).toEqual({ memberId: expect.any(String), email: 'carol@example.com', nickname: 'carol', roles: [] })
      expect(signUp.position).toMatch(/^identity\.member@/)
      const login = await api.call('POST', '/api/auth/login', { body: { email: 'CAROL@example.com', password: 'long enough' } })
      expect(login.status).toBe(200)
      expect(login.body.token).toEqual(expect.any(String))
    })

    it('refuses a taken email or nickname, bad sign-ups and wrong credentials', async () => {
      const taken = await api.call('POST', '/api/members', { body: { email: ann.email.toUpperCase(), password: 'long enough', nickname: 'fresh1' } })
      expect(taken).toMatchObject({ status: 409, body: { code: 'EMAIL_TAKEN' } })
      const nick = await api.call('POST', '/api/members', { body: { email: 'x1@example.com', password: 'long enough', nickname: ann.nickname.toUpperCase() } })
      expect(nick).toMatchObject({ status: 409, body: { code: 'NICKNAME_TAKEN' } })
      for (const body of [{}, { email: 'not-an-email', password: 'long enough', nickname: 'abc' }, { email: 'y@example.com', password: 'short', nickname: 'abc' }, { email: 'y@example.com', password: 'long enough', nickname: 'has space' }]) {
        expect(await api.call('POST', '/api/members', { body })).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      }
      expect(await api.call('POST', '/api/auth/login', { body: { email: ann.email, password: 'wrong password' } })).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } })
      expect(await api.call('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever1' } })).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } })
    })

    it('changes a nickname and tells whether one is available', async () => {
      const member = await api.newMember('nick')
      expect(await api.call('GET', `/api/members/nicknames/${member.nickname}`)).toMatchObject({ status: 200, body: { available: false } })
      expect(await api.call('GET', '/api/members/nicknames/never-used-yet')).toMatchObject({ status: 200, body: { available: true } })
      const changed = await api.call('PATCH', '/api/members/me', { token: member.token, body: { nickname: `${member.nickname}-2` } })
      expect(changed).toMatchObject({ status: 200, body: { nickname: `${member.nickname}-2` } })
      expect(await api.call('GET', `/api/members/nicknames/${member.nickname}`)).toMatchObject({ body: { available: true } })
      expect(await api.call('PATCH', '/api/members/me', { token: member.token, body: { nickname: ann.nickname } })).toMatchObject({ status: 409, body: { code: 'NICKNAME_TAKEN' } })
      expect(await api.call('PATCH', '/api/members/me', { body: { nickname: 'whoever' } })).toMatchObject({ status: 401 })
    })

    it('writes a post and serves its document from the read side, reading its own write', async () => {
      const created = await api.createPost(ann, { title: 'Hello', content: 'First post' })
      expect(created.status).toBe(201)
      expect(created.position).toMatch(/^board\.post@/)
      const doc = await api.document(created.body.postId, created.position)
      expect(doc.status).toBe(200)
      expect(doc.body).toEqual({
        postId: created.body.postId,
        title: 'Hello',
        content: 'First post',
        writer: { memberId: ann.memberId, nickname: ann.nickname },
        comments: [],
        commentCount: 0,
        createdAt: expect.any(String),
        editedAt: null,
        version: 1,
      })
    })

    // The hot documents and the app's metrics of one process: only where the board runs in this one.
    if (options.inProcess) it('answers a hot document from memory with the same bytes as the app, and a token still through the app', async () => {
      const created = await api.createPost(ann, { title: 'Hot', content: 'read me often' })
      const url = `${api.baseUrl}/api/board/posts/${created.body.postId}`
      const viaApp = await fetch(url, { headers: { 'Tidings-Position': created.position! } }) // waits, then fills the cache
      const appBody = await viaApp.text()
      const hot = opened.board!.services.query.hot
      // Requests the app served are counted in its metrics; the fast path's are not.
      const appServed = async () => {
        const text = await (await fetch(`${api.baseUrl}/metrics`)).text()
        return Number(/tidings_http_request_duration_seconds_count\{[^}]*route="\/api\/board\/posts\/:postId"[^}]*status="200"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)
      }
      const [hitsBefore, servedBefore] = [hot.stats().hits, await appServed()]
      expect(servedBefore).toBeGreaterThan(0)
      const fromMemory = await fetch(url)
      expect(await fromMemory.text()).toBe(appBody)
      expect(fromMemory.headers.get('content-type')).toBe(viaApp.headers.get('content-type'))
      expect(hot.stats().hits).toBe(hitsBefore + 1)
      expect(await appServed()).toBe(servedBefore)
      const edited = await api.call('PATCH', `/api/posts/${created.body.postId}`, { token: ann.token, body: { title: 'Hot, edited' } })
      expect((await api.document(created.body.postId, edited.position)).body.title).toBe('Hot, edited')
      expect(((await (await fetch(url)).json()) as { title: string }).title).toBe('Hot, edited')
    })

    it('lets only the writer edit or delete a post', async () => {
      const { body: post } = await api.createPost(ann, { title: 'Mine', content: 'only mine' })
      expect(await api.call('PATCH', `/api/posts/${post.postId}`, { token: bob.token, body: { title: 'Hijacked' } })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
      expect(await api.call('DELETE', `/api/posts/${post.postId}`, { token: bob.token })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
      expect(await api.call('PATCH', `/api/posts/${post.postId}`, { body: { title: 'Anonymous' } })).toMatchObject({ status: 401 })
      const edited = await api.call('PATCH', `/api/posts/${post.postId}`, { token: ann.token, body: { title: 'Mine, edited' } })
      expect(edited).toMatchObject({ status: 200, body: { title: 'Mine, edited', content: 'only mine', version: 2 } })
      expect((await api.document(post.postId, edited.position)).body).toMatchObject({ title: 'Mine, edited', editedAt: expect.any(String), version: 2 })
      expect(await api.call('PATCH', '/api/posts/0190a8f2-0000-7000-8000-000000000000', { token: ann.token, body: { title: 'x' } })).toMatchObject({
        status: 404,
        body: { code: 'POST_NOT_FOUND' },
      })
      const deleted = await api.call('DELETE', `/api/posts/${post.postId}`, { token: ann.token })
      expect(deleted.status).toBe(204)
      expect(await api.document(post.postId, deleted.position)).toMatchObject({ status: 404, body: { code: 'POST_NOT_FOUND' } })
      expect(await api.call('DELETE', `/api/posts/${post.postId}`, { token: ann.token })).toMatchObject({ status: 404 })
      expect(await api.addComment(bob, post.postId, 'too late')).toMatchObject({ status: 404, body: { code: 'POST_NOT_FOUND' } })
    })

    it('adds, edits and deletes comments, only by their author, and shows them in the document', async () => {
      const { body: post } = await api.createPost(ann, { title: 'Discuss', content: 'Talk to me' })
      const first = await api.addComment(bob, post.postId, 'First!')
      expect(first).toMatchObject({ status: 201, body: { commentId: expect.any(String), postId: post.postId, authorId: bob.memberId, content: 'First!' } })
      expect(first.position).toMatch(/^board\.comment@/)
      const second = await api.addComment(ann, post.postId, 'Thanks')
      let doc = await api.document(post.postId, second.position)
      expect(doc.body.comments.map((c) => [c.content, c.author.nickname])).toEqual([
        ['First!', bob.nickname],
        ['Thanks', ann.nickname],
      ])
      expect(doc.body.commentCount).toBe(2)

      expect(await api.call('PATCH', `/api/comments/${first.body.commentId}`, { token: ann.token, body: { content: 'not yours' } })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } })
      expect(await api.call('DELETE', `/api/comments/${first.body.commentId}`, { token: ann.token })).toMatchObject({ status: 403 })
      const edited = await api.call('PATCH', `/api/comments/${first.body.commentId}`, { token: bob.token, body: { content: 'First, edited' } })
      expect(edited).toMatchObject({ status: 200, body: { content: 'First, edited', version: 2 } })
      doc = await api.document(post.postId, edited.position)
      expect(doc.body.comments[0]).toMatchObject({ content: 'First, edited', editedAt: expect.any(String) })

      const removed = await api.call('DELETE', `/api/comments/${second.body.commentId}`, { token: ann.token })
      expect(removed.status).toBe(204)
      doc = await api.document(post.postId, removed.position)
      expect(doc.body.comments.map((c) => c.commentId)).toEqual([first.body.commentId])
      expect(doc.body.commentCount).toBe(1)
      expect(await api.call('PATCH', `/api/comments/${second.body.commentId}`, { token: ann.token, body: { content: 'back?' } })).toMatchObject({
        status: 404,
        body: { code: 'COMMENT_NOT_FOUND' },
      })
      expect(await api.addComment(bob, '0190a8f2-0000-7000-8000-000000000000', 'nowhere')).toMatchObject({ status: 404, body: { code: 'POST_NOT_FOUND' } })
    })

    it('shows a changed nickname in every document that shows the member', async () => {
      const carl = await api.newMember('carl')
      const { body: own } = await api.createPost(carl, { title: 'By carl', content: '…' })
      const { body: other } = await api.createPost(ann, { title: 'By ann', content: '…' })
      await api.addComment(carl, other.postId, 'carl was here')
      await api.call('PATCH', '/api/members/me', { token: carl.token, body: { nickname: `${carl.nickname}-new` } })
      // The documents depend on writes to three services: the session carries the last token of each.
      const ownDoc = await api.document(own.postId, api.session())
      expect(ownDoc.body.writer).toEqual({ memberId: carl.memberId, nickname: `${carl.nickname}-new` })
      const otherDoc = await api.document(other.postId, api.session())
      expect(otherDoc.body.comments[0]!.author).toEqual({ memberId: carl.memberId, nickname: `${carl.nickname}-new` })
      expect(otherDoc.body.writer.nickname).toBe(ann.nickname)
    })

    it('lists posts newest first, page by page', async () => {
      const writer = await api.newMember('lister')
      const ids: string[] = []
      let position: string | null = null
      for (let i = 0; i < 5; i++) {
        const created = await api.createPost(writer, { title: `List ${i}`, content: 'x' })
        ids.push(created.body.postId)
        position = created.position
      }
      await api.addComment(bob, ids[4]!, 'on the newest')
      const first = await api.call<{ items: Array<{ postId: string; title: string; commentCount: number; writer: unknown; createdAt: string }>; nextCursor: string }>(
        'GET',
        `/api/board/posts?limit=3&position=${encodeURIComponent(position!)}`,
      )
      expect(first.status).toBe(200)
      expect(first.body.items.map((p) => p.postId)).toEqual([ids[4], ids[3], ids[2]])
      expect(first.body.items[0]).toEqual({ postId: ids[4], title: 'List 4', writer: { memberId: writer.memberId, nickname: writer.nickname }, commentCount: expect.any(Number), createdAt: expect.any(String) })
      const second = await api.call<{ items: Array<{ postId: string }>; nextCursor: string | null }>('GET', `/api/board/posts?limit=3&cursor=${first.body.nextCursor}`)
      expect(second.body.items.slice(0, 2).map((p) => p.postId)).toEqual([ids[1], ids[0]])
      expect(await api.call('GET', '/api/board/posts?limit=0')).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
      expect(await api.call('GET', '/api/board/posts?cursor=nope')).toMatchObject({ status: 400, body: { code: 'VALIDATION' } })
    })

    it('notifies a writer of comments by others, lists them and marks them read', async () => {
      const writer = await api.newMember('writer')
      const { body: post } = await api.createPost(writer, { title: 'Notify me', content: '…' })
      await api.addComment(writer, post.postId, 'my own comment: no notification')
      const theirs = await api.addComment(bob, post.postId, 'a comment by bob')
      const list = await api.call<{ items: Array<{ notificationId: string; postId: string; commentId: string; actor: unknown; read: boolean }>; unread: number }>(
        'GET',
        '/api/notifications',
        { token: writer.token, headers: { 'Tidings-Position': theirs.position! } },
      )
      expect(list.status).toBe(200)
      expect(list.body.items).toEqual([
        expect.objectContaining({ postId: post.postId, commentId: theirs.body.commentId, actor: { memberId: bob.memberId, nickname: bob.nickname }, postTitle: 'Notify me', read: false }),
      ])
      expect(list.body.unread).toBe(1)
      const id = list.body.items[0]!.notificationId
      expect(await api.call('POST', `/api/notifications/${id}/read`, { token: bob.token })).toMatchObject({ status: 404, body: { code: 'NOTIFICATION_NOT_FOUND' } })
      expect(await api.call('POST', `/api/notifications/${id}/read`, { token: writer.token })).toMatchObject({ status: 200, body: { read: true } })
      expect((await api.call('GET', '/api/notifications', { token: writer.token })).body).toMatchObject({ unread: 0 })
      expect(await api.call('GET', '/api/notifications')).toMatchObject({ status: 401 })
    })

    it('pushes a new notification to the writer over Server-Sent Events', async () => {
      const writer = await api.newMember('sse')
      const { body: post } = await api.createPost(writer, { title: 'Live', content: '…' })
      const abort = new AbortController()
      const response = await fetch(`${api.baseUrl}/api/notifications/stream?access_token=${writer.token}`, { signal: abort.signal })
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toContain('text/event-stream')
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let received = ''
      const until = async (text: string) => {
        while (!received.includes(text)) {
          const { value, done } = await reader.read()
          if (done) throw new Error(`stream ended before "${text}": ${received}`)
          received += value
        }
      }
      await until('event: ready')
      const comment = await api.addComment(bob, post.postId, 'live comment')
      await until(comment.body.commentId)
      expect(received).toContain('event: notification')
      abort.abort()
    })

    // The entry point of a cluster does not pass the feeds on: consumers there read the broker.
    if (options.inProcess) it('serves the feeds of the three producing services', async () => {
      for (const source of ['identity.member', 'board.post', 'board.comment']) {
        const page = await api.call<{ items: Array<{ source: string; data: Record<string, unknown> }>; next: string }>('GET', `/api/feeds/${source}?after=0&limit=5`, { token: TEST_SERVICE_CREDENTIAL })
        expect(page.status).toBe(200)
        expect(page.body.items.length).toBeGreaterThan(0)
        for (const item of page.body.items) {
          expect(item.source).toBe(source)
          // Zero-payload: ids and the version, nothing else.
          expect(Object.keys(item.data).every((k) => k === 'version' || k.endsWith('Id'))).toBe(true)
        }
      }
    })
  })
}
