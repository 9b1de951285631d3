import { afterAll } from 'vitest'
import { causalOrderContract, serverInstalled, startNatsServer, testEngines, type NatsServer } from '@tidings/testing'
import { natsTransport } from './nats-transport'

// The attributes' relay starts late: their events reach the broker after the "completed" events that name them.
if (serverInstalled('nats-server')) {
  let server: Promise<NatsServer> | undefined
  afterAll(async () => {
    await (await server?.catch(() => undefined))?.cleanup()
  })
  for (const engine of await testEngines()) {
    causalOrderContract(engine, {
      kind: 'transport',
      name: 'NATS (3 partitions)',
      open: async () => {
        const { url } = await (server ??= startNatsServer())
        const transport = await natsTransport({ servers: url, partitions: 3 })
        return { transport, close: () => transport.close() }
      },
    })
  }
}
