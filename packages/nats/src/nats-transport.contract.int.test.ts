import { brokerOutageContract, brokerTransportContract, startNatsServer } from '@tidings/testing'
import { natsTransport } from './nats-transport'

await brokerTransportContract('nats', 'nats-server', startNatsServer, (url) => natsTransport({ servers: url }), { dropsRepeats: true })

brokerOutageContract('nats', 'nats-server', startNatsServer, (url, partitions) => natsTransport({ servers: url, partitions, timeoutMs: 1_000, reconnectWaitMs: 50 }), {
  dropsRepeats: true,
  waitsForServer: true, // natsTransport waits for a server that is not up yet, by design
})
