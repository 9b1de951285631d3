import { subscriptionContract, testEngines } from '@tidings/testing'

for (const engine of await testEngines()) subscriptionContract(engine)
