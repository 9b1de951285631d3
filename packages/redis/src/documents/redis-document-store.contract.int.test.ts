import { documentsContract, serviceReachable, type DocumentsNamespace } from '@tidings/testing'
import { Redis } from 'ioredis'
import { afterAll, describe } from 'vitest'
import { redisDocuments, type RedisDocuments } from './redis-documents'

const SHARED = 'redis://127.0.0.1:6379'
/** Every run its own key prefix and every test a namespace under it: the shared server serves other runs too. */
const PREFIX = `tidings-test-docs-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

describe.runIf(await serviceReachable('Redis', 6379))('Redis document store (shared server)', () => {
  const opened: RedisDocuments[] = []
  let namespaces = 0
  const connect = async (prefix: string): Promise<DocumentsNamespace> => {
    const documents = await redisDocuments({ url: SHARED, prefix })
    opened.push(documents)
    return documents
  }

  afterAll(async () => {
    await Promise.all(opened.map((documents) => documents.close()))
    const redis = new Redis(SHARED)
    const keys = await redis.keys(`${PREFIX}:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  documentsContract('redis', async () => {
    const prefix = `${PREFIX}:${++namespaces}`
    const namespace = await connect(prefix)
    return {
      collection: (name) => namespace.collection(name),
      connections: (n) => Promise.all(Array.from({ length: n }, () => connect(prefix))),
    }
  })
})
