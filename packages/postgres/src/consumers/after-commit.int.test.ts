import { afterCommitContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) afterCommitContract(engine)
