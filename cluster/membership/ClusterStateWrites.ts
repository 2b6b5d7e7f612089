import type { ApplyResult, ClusterCommand, MemberInfo } from './types.ts'

/**
 * The `ClusterState` port's named writes, each one command for `write`: shared by every backend
 * (Raft's ClusterStateNode, JetStreamClusterState), which only say how a command is written.
 */
export abstract class ClusterStateWrites {
  abstract get self(): { readonly node: string; readonly incarnation: number }
  abstract write(command: ClusterCommand): Promise<ApplyResult>

  join(info: Omit<MemberInfo, 'node' | 'incarnation'>): Promise<ApplyResult> {
    return this.write({ type: 'join', node: this.self.node, incarnation: this.self.incarnation, ...info })
  }
  up(node: string, incarnation: number): Promise<ApplyResult> {
    return this.write({ type: 'up', node, incarnation })
  }
  leave(node: string, incarnation: number): Promise<ApplyResult> {
    return this.write({ type: 'leave', node, incarnation })
  }
  down(node: string, incarnation: number, reason: string): Promise<ApplyResult> {
    return this.write({ type: 'down', node, incarnation, reason })
  }
  /** This member's failure detector changed its verdict on `node#incarnation`. */
  reportSuspicion(node: string, incarnation: number, suspected: boolean): Promise<ApplyResult> {
    return this.write({ type: 'suspect', observer: this.self.node, observerIncarnation: this.self.incarnation, node, incarnation, suspected })
  }
  register(key: string, ref: string, unique = false): Promise<ApplyResult> {
    return this.write({ type: 'register', key, ref, node: this.self.node, incarnation: this.self.incarnation, unique })
  }
  registerUnique(key: string, ref: string): Promise<ApplyResult> {
    return this.register(key, ref, true)
  }
  unregister(key: string, ref: string): Promise<ApplyResult> {
    return this.write({ type: 'unregister', key, ref })
  }
  actorDied(ref: string): Promise<ApplyResult> {
    return this.write({ type: 'actorDied', ref })
  }
  declareSingleton(name: string, role: string | null = null): Promise<ApplyResult> {
    return this.write({ type: 'singleton', name, role })
  }
}
