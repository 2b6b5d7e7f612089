import { ActorStoppedError } from '../runtime/index.ts'
import type { SimProcess } from './SimProcess.ts'

/**
 * The part of a simulated node that survives a crash: a small key-value store, as a node's disk.
 * Values are deep-copied (structured clone) on the way in and out, so nothing in memory aliases
 * what is "on disk" and a crash cannot leak state through a shared object.
 *
 * A node's `boot` receives a view bound to the node's current incarnation: once that incarnation
 * has crashed, writes through its view are refused (a dead process writes nothing), while the data
 * stays for the next incarnation.
 */
export class DurableStore {
  private readonly data: Map<string, unknown>
  private readonly process: SimProcess | null

  /** A fresh, empty store; `SimulatedCluster` makes one per node. (The arguments are internal.) */
  constructor(data: Map<string, unknown> = new Map(), process: SimProcess | null = null) {
    this.data = data
    this.process = process
  }

  /** @internal A view of this store that only `process` may write through while it lives. */
  boundTo(process: SimProcess): DurableStore {
    return new DurableStore(this.data, process)
  }

  get<T>(key: string): T | undefined {
    const value = this.data.get(key)
    return value === undefined ? undefined : (structuredClone(value) as T)
  }

  has(key: string): boolean {
    return this.data.has(key)
  }

  set(key: string, value: unknown): void {
    this.checkAlive()
    this.data.set(key, structuredClone(value))
  }

  delete(key: string): boolean {
    this.checkAlive()
    return this.data.delete(key)
  }

  keys(): string[] {
    return [...this.data.keys()]
  }

  get size(): number {
    return this.data.size
  }

  private checkAlive(): void {
    if (this.process !== null && this.process.isCrashed) {
      throw new ActorStoppedError(`process ${this.process.label} has crashed; its writes never reach the disk`)
    }
  }
}
