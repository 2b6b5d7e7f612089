/**
 * The bank example, standalone: `npm run example`. Builds the bank on a fresh actor system, runs
 * the scripted scenario, prints what happens, and exits 0 when the books balance.
 */
import { ActorSystem, SeededRandom } from '../../runtime/index.ts'
import { startBank } from './app.ts'
import { MemoryStore } from './MemoryStore.ts'
import { runScenario } from './scenario.ts'

// Seeded so that transaction ids and the random transfers are the same on every run.
const system = ActorSystem.create({ name: 'bank', random: new SeededRandom(42) })
// Actor timers do not keep the process alive (the system's clock unrefs them); while the scenario
// waits on one (a slow write, an ask timeout) something must, or Node would exit mid-run.
const keepAlive = setInterval(() => {}, 60_000)

let exitCode = 0
try {
  const store = new MemoryStore(system.clock)
  const bank = await startBank(system, { store, auditIntervalMs: 25 })
  console.log('Troupe bank example\n')
  const result = await runScenario(system, bank, store, { seed: 7, transfers: 300, concurrency: 10, log: (line) => console.log(line) })
  if (!result.audit.balanced || result.auditor.imbalances > 0) exitCode = 1
} catch (error) {
  console.error('the example failed:', error)
  exitCode = 1
} finally {
  await system.terminate()
  clearInterval(keepAlive)
}
if (system.failure !== null) exitCode = 1
console.log(`\nactor system terminated${exitCode === 0 ? '' : ' (with errors)'}`)
process.exitCode = exitCode
