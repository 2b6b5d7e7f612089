/** Shared by the client actors' integration tests: a client under a supervisor, load, and event recording. */
import { BreakerTransitionTopic, ClientHealthTopic, type BreakerTransition, type HealthTransition } from '../../../../actors/index.ts'
import type { Actor, ActorClass, ActorRef, ActorSystem, ProtocolOf } from '../../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type SupervisorEvent, type SupervisorProtocol } from '../../../../supervision/index.ts'
import { waitFor } from '../../../../testing/index.ts'

/** Starts `actor` as the only child of a Supervisor (intensity 3 in 5 s: a hot restart loop would give up) and returns its ref. */
export async function underSupervisor<A extends Actor<any>>(system: ActorSystem, actor: ActorClass<A, [any]>, options: unknown): Promise<ActorRef<ProtocolOf<A>>> {
  const sup: ActorRef<SupervisorProtocol> = system.spawn(Supervisor, { name: 'clients', args: [{ intensity: 3, periodMs: 5000, children: [childSpec({ id: 'client', actor, args: [options] })] }] })
  let ref: ActorRef<any> | null = null
  await waitFor(() => ref !== null || (void sup.ask('lookupChild', 'client').then((r) => (ref = r as ActorRef<any> | null)), false), { message: 'the client did not start' })
  return ref as unknown as ActorRef<ProtocolOf<A>>
}

/** Everything the system publishes that these tests assert on. */
export function record(system: ActorSystem): { health: HealthTransition[]; breaker: BreakerTransition[]; supervisor: SupervisorEvent[] } {
  const seen = { health: [] as HealthTransition[], breaker: [] as BreakerTransition[], supervisor: [] as SupervisorEvent[] }
  system.subscribe(ClientHealthTopic, (e) => seen.health.push(e))
  system.subscribe(BreakerTransitionTopic, (e) => seen.breaker.push(e))
  system.subscribe(SupervisorEventTopic, (e) => seen.supervisor.push(e))
  return seen
}

/** `callers` loops calling `call` until stopped; every answer and every error is kept (nothing is lost silently). */
export function load(callers: number, call: (i: number) => Promise<unknown>) {
  const ok: unknown[] = []
  const errors: unknown[] = []
  let running = true
  const loops = Array.from({ length: callers }, async (_, i) => {
    while (running) {
      try {
        ok.push(await call(i))
      } catch (error) {
        errors.push(error)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })
  return {
    ok,
    errors,
    codes: () => new Set(errors.map((e) => (e as { code?: string }).code ?? `untyped:${String(e)}`)),
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}
