import { testEngines, transportContract } from '@tidings/testing'
import { embeddedTransport } from './embedded-transport'

for (const engine of await testEngines()) {
  transportContract('embedded', engine, async (feeds) => ({ transport: embeddedTransport(feeds), close: async () => {} }), { brokerRestart: false })
}
