import { causalOrderContract, testEngines } from '@tidings/testing'
import { embeddedTransport } from '../feed/embedded-transport'

for (const engine of await testEngines()) {
  causalOrderContract(engine, { kind: 'feeds' })
  causalOrderContract(engine, { kind: 'feeds', mode: 'deferred' })
  causalOrderContract(engine, { kind: 'transport', name: 'embedded', open: async (feeds) => ({ transport: embeddedTransport(feeds), close: async () => {} }) })
}
