import { documentStoreContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) documentStoreContract(engine)
