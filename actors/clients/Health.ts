import { topic, type ActorRef, type ActorSystem, type Subscription, type Topic } from '../../runtime/index.ts'
import { ServiceUnhealthyError } from '../errors.ts'

/** `starting`: no check has answered yet (not ready). */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy'

/** One health transition of a client actor, published once on `ClientHealthTopic`. */
export interface HealthTransition {
  /** The client's name (its `name` option). */
  readonly client: string
  readonly kind: 'pg' | 'redis'
  readonly from: HealthStatus
  readonly to: HealthStatus
  /** Error code of the check that tipped it to unhealthy; null otherwise. */
  readonly reason: string | null
  readonly at: number
  /** The client's transition count after this one (1, 2, …): orders transitions for mirrors. */
  readonly seq: number
}

/** What a client's `health()` answers. */
export interface HealthSnapshot {
  readonly client: string
  readonly kind: 'pg' | 'redis'
  readonly status: HealthStatus
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  readonly lastError: string | null
  readonly checks: number
  readonly transitions: number
}

/** Every health transition of every client actor of a system, exactly once each. */
export const ClientHealthTopic: Topic<HealthTransition> = topic<HealthTransition>('troupe.client.health')

/**
 * Hysteresis over check outcomes (pure: no I/O, no clock). `unhealthyAfter` consecutive failures
 * make a healthy (or starting) client unhealthy; `healthyAfter` consecutive successes make an
 * unhealthy one healthy again. From `starting` one success is enough: hysteresis is there against
 * flapping, and a service that answers its first check is up. Returns the transition, or null.
 */
export class Hysteresis {
  status: HealthStatus = 'starting'
  consecutiveFailures = 0
  consecutiveSuccesses = 0
  lastError: string | null = null
  checks = 0
  transitions = 0
  private readonly unhealthyAfter: number
  private readonly healthyAfter: number

  constructor(unhealthyAfter: number, healthyAfter: number) {
    this.unhealthyAfter = unhealthyAfter
    this.healthyAfter = healthyAfter
  }

  success(): { from: HealthStatus; to: HealthStatus } | null {
    this.checks++
    this.consecutiveFailures = 0
    this.consecutiveSuccesses++
    if (this.status === 'healthy') return null
    if (this.status === 'unhealthy' && this.consecutiveSuccesses < this.healthyAfter) return null
    return this.move('healthy')
  }

  failure(code: string): { from: HealthStatus; to: HealthStatus } | null {
    this.checks++
    this.consecutiveSuccesses = 0
    this.consecutiveFailures++
    this.lastError = code
    if (this.status === 'unhealthy' || this.consecutiveFailures < this.unhealthyAfter) return null
    return this.move('unhealthy')
  }

  private move(to: HealthStatus): { from: HealthStatus; to: HealthStatus } {
    const from = this.status
    this.status = to
    this.transitions++
    return { from, to }
  }
}

/** What the node's `/readyz` needs from a component: a synchronous answer (probes must not wait). */
export interface ReadinessCheck {
  readonly name: string
  ready(): { ok: boolean; reason: string | null }
}

/** A readiness check that mirrors one client's health, kept current from `ClientHealthTopic`. */
export interface ClientReadiness extends ReadinessCheck {
  readonly status: HealthStatus
  /** Throws ERR_SERVICE_UNHEALTHY unless the client is healthy (for callers that want to shed work early). */
  assertReady(): void
  close(): void
}

/**
 * Follows the health of the client actor `ref` (a PgPool or RedisClient on `system`): subscribes to
 * transitions first, then reads the current snapshot once, so nothing between the two is missed.
 * Register the result with whatever computes the node's readiness (`combineReadiness`).
 */
export async function clientReadiness(system: ActorSystem, ref: ActorRef<{ health(): HealthSnapshot }>): Promise<ClientReadiness> {
  // Transitions heard before the snapshot are kept and applied only if they are newer than it (`seq`).
  const early: HealthTransition[] = []
  let mirror: { name: string; status: HealthStatus; reason: string | null; seq: number } | null = null
  const apply = (t: HealthTransition): void => {
    if (mirror === null || t.client !== mirror.name || t.seq <= mirror.seq) return
    mirror.status = t.to
    mirror.reason = t.reason
    mirror.seq = t.seq
  }
  const subscription: Subscription = system.subscribe(ClientHealthTopic, (t) => (mirror === null ? early.push(t) : apply(t)))
  let snapshot: HealthSnapshot
  try {
    snapshot = await ref.ask('health')
  } catch (error) {
    subscription.unsubscribe()
    throw error
  }
  const state = { name: snapshot.client, status: snapshot.status, reason: snapshot.lastError, seq: snapshot.transitions }
  mirror = state
  for (const t of early.splice(0)) apply(t)
  return {
    name: state.name,
    get status() {
      return state.status
    },
    ready() {
      return state.status === 'healthy' ? { ok: true, reason: null } : { ok: false, reason: `${state.name} ${state.status}${state.reason === null ? '' : ` (${state.reason})`}` }
    },
    assertReady() {
      if (state.status !== 'healthy') throw new ServiceUnhealthyError(`${state.name} is ${state.status}`, { data: { client: state.name, status: state.status, reason: state.reason } })
    },
    close() {
      subscription.unsubscribe()
    },
  }
}

/** Folds readiness checks into the `{ ok, reasons }` shape of the node's `/readyz` probe. */
export function combineReadiness(base: { ok: boolean; reasons: string[] }, checks: readonly ReadinessCheck[]): { ok: boolean; reasons: string[] } {
  const reasons = [...base.reasons]
  for (const check of checks) {
    const answer = check.ready()
    if (!answer.ok) reasons.push(answer.reason ?? `${check.name} not ready`)
  }
  return { ok: base.ok && reasons.length === base.reasons.length, reasons }
}

/** Exponential backoff with jitter: `baseMs × 2^attempt`, capped at `maxMs`, then × (1 + random × jitter), capped again. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter: number, random: () => number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.min(maxMs, raw * (1 + random() * jitter))
}
