import { schedulerContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) schedulerContract(engine)
