import { brokerTransportContract, startNatsServer } from '@tidings/testing'
import { natsTransport } from './nats-transport'

await brokerTransportContract('nats', 'nats-server', startNatsServer, (url) => natsTransport({ servers: url }), { dropsRepeats: true })
