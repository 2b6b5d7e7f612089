/** PostgreSQL killed (SIGKILL) and restarted under load, with a PgPool under a supervisor in front of it. Starts its own server. */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { PgPool, type PgPoolProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { LocalPostgresServer } from '../../../support/dataServices.ts'
import { BREAKER, HEALTH, outageScenario } from './outage.ts'
import { record, underSupervisor } from './support.ts'

let server: LocalPostgresServer
beforeAll(async () => {
  server = await LocalPostgresServer.start()
}, 60_000)
afterAll(async () => {
  await server.stop()
})

describe('PgPool through a PostgreSQL outage', () => {
  it('answers typed errors, opens its breaker, goes unhealthy and back, never restarts, and serves again', async () => {
    const system = ActorSystem.create({ name: 'pg-outage', clock: new SystemClock() })
    const seen = record(system)
    const db = (await underSupervisor<PgPool>(system, PgPool, {
      name: 'db',
      connectionString: server.url,
      pool: { max: 4 },
      checkoutTimeoutMs: 1000,
      queryTimeoutMs: 2000,
      health: HEALTH,
      breaker: BREAKER,
    })) as ActorRef<PgPoolProtocol>
    try {
      await outageScenario({
        system,
        seen,
        client: db,
        name: 'db',
        breakerName: 'pg:db',
        call: (i) => db.ask('query', 'select $1::int as i', [i]),
        crash: () => server.crash(),
        resume: () => server.resume(),
      })
    } finally {
      await system.terminate()
    }
  }, 90_000)
})
