import { afterEach, describe, expect, it } from 'vitest'
import { inProcessEvictionBus, type Eviction, type EvictionBus } from '@tidings/core'
import { hostServices, serveHttp, serviceContext, type Host } from '@tidings/http'
import { eventually, testEngines } from '@tidings/testing'
import { boardServices } from '../board'
import { identityService, MEMBER_SOURCE } from '@tidings/identity'
import { BoardClient } from '../test-kit/board-client'
import { boardQueryService } from './board-query.service'

/**
 * An eviction bus whose deliveries can be held back: the other instance's evictions are late (a slow
 * network, a busy Redis), which is when a cache could serve an older version.
 */
class LateEvictions implements EvictionBus {
  private readonly bus = inProcessEvictionBus()
  private readonly resets = new Set<() => void>()
  private held: Eviction[] | undefined

  hold(): void {
    this.held ??= []
  }

  async release(): Promise<void> {
    const held = this.held ?? []
    this.held = undefined
    for (const eviction of held) await this.bus.publish(eviction)
  }

  /** What a bus does after a lost connection: what it held is gone, and every subscriber is told so. */
  lose(): void {
    this.held = undefined
    for (const reset of this.resets) reset()
  }

  async publish(eviction: Eviction): Promise<void> {
    if (this.held) this.held.push(eviction)
    else await this.bus.publish(eviction)
  }

  subscribe(topic: string, listener: (e: Eviction) => void, onReset: () => void): () => void {
    this.resets.add(onReset)
    const unsubscribe = this.bus.subscribe(topic, listener, onReset)
    return () => {
      this.resets.delete(onReset)
      unsubscribe()
    }
  }

  close(): Promise<void> {
    return this.bus.close()
  }
}

/**
 * Two board.query instances on one database: the first applies every change (it holds the lease), the
 * second stands by and serves reads from its own hot documents, kept fresh by the first one's evictions.
 */
for (const engine of await testEngines()) {
  describe(`hot documents of two board.query instances on ${engine.name}`, () => {
    const stops: Array<() => Promise<unknown>> = []
    afterEach(async () => {
      for (const stop of stops.splice(0).reverse()) await stop()
    })

    async function serve(host: Host): Promise<BoardClient> {
      await host.start()
      const server = await serveHttp(host.http, 0, { hostname: '127.0.0.1' })
      stops.push(() => host.stop(), () => server.close())
      return new BoardClient(`http://127.0.0.1:${server.port}`)
    }

    async function setup() {
      const { db } = await engine.freshDatabase()
      const evictions = new LateEvictions()
      const first = serviceContext({ db, instanceId: 'first' })
      const identity = await identityService(first)
      const services = await boardServices(first, identity, { evictions })
      const api = await serve(hostServices(first, [identity, ...Object.values(services)]))
      // Wait until the first instance leads, so the second one is the standby.
      await eventually(async () => services.query.subscriptions[0]!.isActive(), Boolean, { what: 'the first instance to lead' })
      const second = serviceContext({ db, instanceId: 'second' })
      const feeds = [identity.feeds[MEMBER_SOURCE]!, services.post.feeds['board.post']!, services.comment.feeds['board.comment']!]
      const sources = { members: identity.lookup, posts: services.post.lookup, comments: services.comment.lookup, membersMany: identity.lookupMany, commentsMany: services.comment.lookupMany }
      const standby = await boardQueryService(second, feeds, sources, { evictions })
      const other = await serve(hostServices(second, [standby]))
      expect(standby.subscriptions[0]!.isActive()).toBe(false)
      return { api, other, evictions, standby, leader: services.query.subscriptions[0]!, leaderHot: services.query.hot, leaderLists: services.query.lists }
    }

    it('never serves a read with the edit token from a copy the late eviction has not dropped yet', async () => {
      const { api, other, evictions, standby } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'v0', content: '…' })
      const postId = created.body.postId
      await eventually(() => other.document(postId, created.position), (a) => a.status === 200, { what: 'the post on the standby' })
      for (let v = 1; v <= 5; v++) {
        expect((await other.document(postId)).body.title).toBe(`v${v - 1}`) // hot on the standby
        evictions.hold()
        const edited = await api.call('PATCH', `/api/posts/${postId}`, { token: ann.token, body: { title: `v${v}` } })
        expect(edited.status).toBe(200)
        const read = await other.document(postId, edited.position)
        expect(read.headers.get('tidings-stale')).toBeNull()
        expect(read.body.title).toBe(`v${v}`)
        // Without a token it is the hot copy until the eviction arrives; then the new version.
        expect((await other.document(postId)).body.title).toBe(`v${v - 1}`)
        await evictions.release()
        expect((await other.document(postId)).body.title).toBe(`v${v}`)
      }
      // Each round: a hit before the release and one at the start of the next (the first round's start filled it).
      expect(standby.hot.stats().hits).toBe(9)
    })

    it('serves the list\'s first page from memory on both instances, and never past an eviction: a comment\'s token shows it', async () => {
      const { api, other, evictions, standby, leaderLists } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'listed', content: '…' })
      const postId = created.body.postId
      await eventually(() => other.list(created.position), (a) => a.body.items[0]?.postId === postId, { what: 'the post in the standby\'s list' })
      const comments = (answer: Awaited<ReturnType<BoardClient['list']>>) => answer.body.items.find((item) => item.postId === postId)?.commentCount
      for (let v = 1; v <= 3; v++) {
        // Cached on both (without a token): loaded, then served from memory.
        for (const client of [api, api, other, other]) expect(comments(await client.list())).toBe(v - 1)
        evictions.hold()
        const comment = await api.addComment(ann, postId, `comment ${v}`)
        expect(comment.status).toBe(201)
        // The leader applies the comment and clears its lists before it reports the position the token names.
        expect(comments(await api.list(comment.position))).toBe(v)
        // The standby answers the token from the documents (it does not apply every change itself).
        expect(comments(await other.list(comment.position))).toBe(v)
        // Without a token the standby serves its copy until the eviction arrives; then the new page.
        expect(comments(await other.list())).toBe(v - 1)
        await evictions.release()
        expect(comments(await other.list())).toBe(v)
      }
      expect(leaderLists.stats().hits).toBeGreaterThanOrEqual(3)
      expect(standby.lists.stats().hits).toBeGreaterThanOrEqual(6)
    })

    it('answers documents and lists with an ETag, and 304 to a client that holds the current one, with a token or without', async () => {
      const { api } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'tagged', content: '…' })
      const postId = created.body.postId
      const reads = [
        { what: 'document', read: (position?: string | null, headers?: Record<string, string>) => api.document(postId, position, headers) },
        { what: 'list', read: (position?: string | null, headers?: Record<string, string>) => api.list(position, headers) },
      ]
      const tags = new Map<string, string>()
      for (const { what, read } of reads) {
        const first = await read(created.position)
        const etag = first.headers.get('etag')!
        tags.set(what, etag)
        expect(etag, what).toMatch(/^"[\w-]{22}"$/)
        expect(first.headers.get('cache-control')).toBe('no-cache')
        // From the fast path (hot, no token) and from the app (a token): 304, no body, the same tag.
        for (const position of [undefined, created.position]) {
          const held = await read(position, { 'If-None-Match': etag })
          expect([held.status, held.body, held.headers.get('etag')], what).toEqual([304, undefined, etag])
          expect((await read(position, { 'If-None-Match': `W/${etag}` })).status).toBe(304)
          expect((await read(position, { 'If-None-Match': '"someone-else"' })).status).toBe(200)
        }
      }
      const edited = await api.call('PATCH', `/api/posts/${postId}`, { token: ann.token, body: { title: 'retitled' } })
      for (const { what, read } of reads) {
        const before = tags.get(what)!
        const after = await read(edited.position, { 'If-None-Match': before })
        expect(after.status, what).toBe(200)
        expect(after.headers.get('etag')).not.toBe(before)
        expect(JSON.stringify(after.body)).toContain('retitled')
      }
    })

    it('serves no read with a token from a copy cached before it took over, whose eviction never came', async () => {
      const { api, other, evictions, standby, leader } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'before', content: '…' })
      const postId = created.body.postId
      await eventually(() => other.document(postId, created.position), (a) => a.status === 200, { what: 'the post on the standby' })
      await other.document(postId) // without a token: cached on the standby
      // The leader applies an edit, and stops before its eviction goes out: it never comes.
      evictions.hold()
      const edited = await api.call('PATCH', `/api/posts/${postId}`, { token: ann.token, body: { title: 'after' } })
      expect(edited.status).toBe(200)
      await eventually(() => other.document(postId, edited.position), (a) => a.body.title === 'after', { what: 'the edit applied' })
      await leader.stop()
      await eventually(async () => standby.subscriptions[0]!.isActive(), Boolean, { what: 'the standby to take over' })
      // Now it applies every change itself; its copy of the post is older than the token it is asked for.
      expect((await other.document(postId, edited.position)).body.title).toBe('after')
      expect((await other.document(postId)).body.title).toBe('after')
    })

    it('drops every hot copy, its own and the other instance\'s, the moment a rebuild clears the documents', async () => {
      const { api, other, evictions, standby, leader, leaderHot } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'before the rebuild', content: '…' })
      const postId = created.body.postId
      await eventually(() => other.document(postId, created.position), (a) => a.status === 200, { what: 'the post on the standby' })
      // Without a token: hot on both instances.
      expect((await api.document(postId)).body.title).toBe('before the rebuild')
      expect((await other.document(postId)).body.title).toBe('before the rebuild')
      expect([leaderHot.stats().size, standby.hot.stats().size]).toEqual([1, 1])
      // A rebuild caught before it replays anything: neither instance applies (the standby stops first, so
      // that it does not take over), and the reset clears the documents. Its eviction to the other
      // instance is late.
      await standby.subscriptions[0]!.stop()
      await leader.stop()
      evictions.hold()
      await leader.reset()
      // The post is gone from the read model until the replay brings it back: no instance may answer it
      // from the copy it held (for up to hotMaxAgeMs, 10 s, had the rebuild not dropped it) — the one that
      // rebuilt at once, whatever the bus does; the other once the eviction for all arrives.
      expect(leaderHot.stats().size).toBe(0)
      expect((await api.document(postId)).status).toBe(404)
      expect(standby.hot.stats().size).toBe(1)
      await evictions.release()
      expect(standby.hot.stats().size).toBe(0)
      expect((await other.document(postId)).status).toBe(404)
      leader.start()
      await eventually(() => api.document(postId), (a) => a.status === 200, { what: 'the rebuild to bring the post back' })
      expect((await other.document(postId)).body.title).toBe('before the rebuild')
    })

    it('drops every hot copy when evictions may have been missed', async () => {
      const { api, other, evictions, standby } = await setup()
      const ann = await api.newMember('ann')
      const created = await api.createPost(ann, { title: 'before', content: '…' })
      await eventually(() => other.document(created.body.postId, created.position), (a) => a.status === 200, { what: 'the post on the standby' })
      await other.document(created.body.postId) // without a token: filled
      expect(standby.hot.stats().size).toBe(1)
      evictions.hold()
      const edited = await api.call('PATCH', `/api/posts/${created.body.postId}`, { token: ann.token, body: { title: 'after' } })
      expect((await other.document(created.body.postId, edited.position)).body.title).toBe('after') // applied
      expect((await other.document(created.body.postId)).body.title).toBe('before') // but the hot copy stays
      evictions.lose()
      expect(standby.hot.stats().size).toBe(0)
      expect((await other.document(created.body.postId)).body.title).toBe('after')
    })
  })
}
