import type { ActorContext, ActorRef, SpawnOptionsBase } from '../../runtime/index.ts'
import { childSpec, Supervisor, type AnyChildSpec, type BackoffOptions, type SupervisorProtocol } from '../../supervision/index.ts'
import { resolveBridgeOptions, type KafkaBridgeOptions } from './BridgeOptions.ts'
import { KafkaInvalidStateError } from './errors.ts'
import { KafkaBridgeConsumer, type KafkaBridgeConsumerProtocol } from './KafkaBridgeConsumer.ts'
import { KafkaProducerActor, type KafkaProducerOptions, type KafkaProducerProtocol } from './KafkaProducerActor.ts'

export interface KafkaBridgeSpec {
  readonly consumer: KafkaBridgeOptions
  /** A producer side under the same supervisor, for actors that tell it to produce (omit for none). */
  readonly producer?: Omit<KafkaProducerOptions, 'client'> & { readonly client?: KafkaProducerOptions['client'] }
  /** Restart delays after a fatal error or an escalation. Default 200 ms → 10 s, randomFactor 0.2. */
  readonly backoff?: BackoffOptions
  /** Restarts within `periodMs` before the supervisor gives up and fails itself (to its own parent). Default 10 in 60 s. */
  readonly intensity?: number
  readonly periodMs?: number
}

export interface KafkaBridge {
  readonly supervisor: ActorRef<SupervisorProtocol>
  readonly consumer: ActorRef<KafkaBridgeConsumerProtocol>
  readonly producer: ActorRef<KafkaProducerProtocol> | null
}

/**
 * Starts the bridge pair under one one_for_one supervisor: `producer` (if asked for) then
 * `consumer`. A child that fails (fenced, auth, retries exhausted) is restarted after a backoff;
 * refs stay valid across restarts. Options are checked here, before anything starts.
 */
export async function spawnKafkaBridge(parent: { spawn: ActorContext<any>['spawn'] }, spec: KafkaBridgeSpec, spawn: Omit<SpawnOptionsBase, 'args'> = {}): Promise<KafkaBridge> {
  resolveBridgeOptions(spec.consumer)
  const backoff = spec.backoff ?? { minMs: 200, maxMs: 10_000, randomFactor: 0.2 }
  const children: AnyChildSpec[] = []
  if (spec.producer !== undefined) {
    const options: KafkaProducerOptions = { ...spec.producer, client: spec.producer.client ?? spec.consumer.client }
    children.push(childSpec({ id: 'producer', actor: KafkaProducerActor, args: [options], backoff }))
  }
  children.push(childSpec({ id: 'consumer', actor: KafkaBridgeConsumer, args: [spec.consumer], backoff, shutdown: 10_000 }))
  const supervisor = (parent.spawn as (cls: unknown, options: unknown) => ActorRef<SupervisorProtocol>)(Supervisor, {
    name: `kafka-bridge-${spec.consumer.name}`,
    ...spawn,
    args: [{ strategy: 'one_for_one', intensity: spec.intensity ?? 10, periodMs: spec.periodMs ?? 60_000, children }],
  })
  const consumer = (await supervisor.ask('lookupChild', 'consumer')) as ActorRef<KafkaBridgeConsumerProtocol> | null
  const producer = spec.producer === undefined ? null : ((await supervisor.ask('lookupChild', 'producer')) as ActorRef<KafkaProducerProtocol> | null)
  if (consumer === null) throw new KafkaInvalidStateError(`bridge '${spec.consumer.name}': the supervisor started without its consumer`)
  return { supervisor, consumer, producer }
}
