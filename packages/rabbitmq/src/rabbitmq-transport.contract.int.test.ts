import { brokerTransportContract, startRabbitMqServer } from '@tidings/testing'
import { rabbitmqTransport } from './rabbitmq-transport'

// `rabbitmqctl --version` tells whether RabbitMQ is installed; `rabbitmq-server --version` would boot a node.
await brokerTransportContract('rabbitmq', 'rabbitmqctl', startRabbitMqServer, (url) => rabbitmqTransport({ url }), { dropsRepeats: false })
