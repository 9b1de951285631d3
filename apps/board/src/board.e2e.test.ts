import { testEngines } from '@tidings/testing'
import { boardEndToEnd } from './test-kit/board-end-to-end'
import { serveBoard } from './test-kit/serve-board'

for (const engine of await testEngines()) {
  boardEndToEnd(`the board over HTTP on ${engine.name}`, async () => serveBoard((await engine.freshDatabase()).db), { inProcess: true })
}
