import { brokerOutageContract, brokerTransportContract, startRabbitMqServer } from '@tidings/testing'
import { rabbitmqTransport } from './rabbitmq-transport'

// `rabbitmqctl --version` tells whether RabbitMQ is installed; `rabbitmq-server --version` would boot a node.
await brokerTransportContract('rabbitmq', 'rabbitmqctl', startRabbitMqServer, (url) => rabbitmqTransport({ url }), { dropsRepeats: false })

// A stream's writer takes a while to come back with the node: retries for up to 20 s.
brokerOutageContract('rabbitmq', 'rabbitmqctl', startRabbitMqServer, (url, partitions) => rabbitmqTransport({ url, partitions, timeoutMs: 2_000 }), {
  dropsRepeats: false,
  retries: 400,
  timeoutMs: 120_000,
})
