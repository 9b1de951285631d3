import { serverInstalled, startNatsServer, testEngines, transportContract } from '@tidings/testing'
import { natsTransport } from './nats-transport'

/** The shared suite, each test on a throwaway nats-server it may kill and restart. */
for (const engine of serverInstalled('nats-server') ? await testEngines() : []) {
  transportContract(
    'nats',
    engine,
    async () => {
      const server = await startNatsServer()
      const transport = await natsTransport({ servers: server.url })
      return {
        transport,
        broker: { kill: () => server.kill(), restart: () => server.restart() },
        close: async () => {
          await transport.close()
          await server.cleanup()
        },
      }
    },
    { brokerRestart: true },
  )
}
