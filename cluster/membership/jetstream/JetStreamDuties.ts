import type { ClusterStateMachine } from '../ClusterStateMachine.ts'
import type { ClusterCommand } from '../types.ts'

/**
 * The leader's next lifecycle step on the JetStream backend (pure): joining → up, leaving → exiting,
 * exiting or down → removed. There is no Raft configuration to wait for (JetStream's own Raft holds
 * the log), so each step follows as soon as the previous one is applied. Every step is validated by
 * the state machine when applied, so a step proposed by a holder whose lease just ran out is refused
 * or is a no-op: the lease keeps duties from being doubled, it is not what keeps the state correct.
 */
export function nextDuty(sm: ClusterStateMachine): ClusterCommand | null {
  for (const m of sm.members()) {
    if (m.status === 'joining') return { type: 'up', node: m.node, incarnation: m.incarnation }
    if (m.status === 'leaving') return { type: 'exit', node: m.node, incarnation: m.incarnation }
    if (m.status === 'exiting' || m.status === 'down') return { type: 'remove', node: m.node, incarnation: m.incarnation }
  }
  return null
}

/**
 * Whether `self` may hold the leader lease: a live, unquarantined member; a leaving or exiting one
 * only while no joining or up member could take over (it hands the lease over otherwise, so its own
 * exit and removal are driven by a member that stays).
 */
export function leaseEligible(sm: ClusterStateMachine, self: { readonly node: string; readonly incarnation: number }): boolean {
  if (sm.isQuarantined(self.node, self.incarnation)) return false
  const me = sm.member(self.node)
  if (me === undefined || me.incarnation !== self.incarnation) return false
  if (me.status === 'joining' || me.status === 'up') return true
  if (me.status !== 'leaving' && me.status !== 'exiting') return false
  return !sm.members().some((m) => m.node !== self.node && (m.status === 'joining' || m.status === 'up'))
}
