import { inboxContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) inboxContract(engine)
