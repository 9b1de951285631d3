import { inProcessEvictionBus } from '@tidings/core'
import { evictionBusContract } from './eviction-bus.contract'

// One process: every "instance" is the same bus, as every subscriber of an embedded deployment shares it.
evictionBusContract('in-process', async () => {
  const bus = inProcessEvictionBus()
  return { instance: async () => bus, close: () => bus.close() }
})
