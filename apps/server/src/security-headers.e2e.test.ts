import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BoardClient } from '@tidings/board/test-kit'
import { testEngines } from '@tidings/testing'
import { serveServer, type ServedServer } from './test-kit/serve-server'

describe("npm start's responses and the browser's content sniffing", () => {
  let served: ServedServer
  beforeAll(async () => {
    served = await serveServer((await (await testEngines())[0]!.freshDatabase()).db)
  })
  afterAll(async () => {
    await served?.stop()
  })

  it('say nosniff everywhere: pages, scripts, JSON, problems, the hot read of a post', async () => {
    const api = new BoardClient(served.baseUrl)
    const ann = await api.newMember('sniff')
    const { postId } = (await api.createPost(ann, { title: 'Sniffed', content: 'not' })).body
    const paths = [
      '/',
      '/console',
      '/console/assets/console.js',
      '/assets/board.js',
      '/api/board/posts?limit=1',
      '/api/console-does-not-exist',
      '/healthz',
      '/.well-known/jwks.json',
    ]
    for (const path of paths) {
      const res = await fetch(`${served.baseUrl}${path}`)
      await res.arrayBuffer()
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff')
    }
    // The same read twice: the second may come from the hot documents, answered before the app.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${served.baseUrl}/api/board/posts/${postId}`)
      await res.arrayBuffer()
      expect(res.headers.get('x-content-type-options'), `read ${i}`).toBe('nosniff')
    }
  })
})
