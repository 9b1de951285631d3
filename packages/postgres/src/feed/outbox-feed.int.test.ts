import { outboxFeedContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) outboxFeedContract(engine)
