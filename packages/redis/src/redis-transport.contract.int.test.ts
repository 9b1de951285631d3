import { brokerTransportContract, startRedisServer } from '@tidings/testing'
import { redisTransport } from './redis-transport'

await brokerTransportContract('redis', 'redis-server', startRedisServer, (url) => redisTransport({ url }), { dropsRepeats: false })
