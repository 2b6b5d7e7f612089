import type { Clock } from '../../runtime/index.ts'
import type { AccountRecord, AccountStore } from './AccountStore.ts'
import { StorageFailureError } from './errors.ts'

/**
 * An in-memory AccountStore with fault injection, standing in for a database. Records are copied in
 * and out, so no actor shares mutable state with the store. Latency is on the given clock (the
 * system's), so a simulated run controls it too.
 */
export class MemoryStore implements AccountStore {
  private readonly records = new Map<string, AccountRecord>()
  private readonly failures = new Map<string, number>()
  private readonly delays = new Map<string, number>()
  private readonly clock: Clock

  constructor(clock: Clock) {
    this.clock = clock
  }

  /** The next `times` saves of `id` fail with StorageFailureError. */
  failNextSave(id: string, times = 1): void {
    this.failures.set(id, times)
  }

  /** The next save of `id` takes `ms` before it completes. */
  delayNextSave(id: string, ms: number): void {
    this.delays.set(id, ms)
  }

  create(record: AccountRecord): Promise<boolean> {
    if (this.records.has(record.id)) return Promise.resolve(false)
    this.records.set(record.id, structuredClone(record))
    return Promise.resolve(true)
  }

  load(id: string): Promise<AccountRecord | undefined> {
    const record = this.records.get(id)
    return Promise.resolve(record === undefined ? undefined : structuredClone(record))
  }

  async save(record: AccountRecord): Promise<void> {
    const delay = this.delays.get(record.id)
    if (delay !== undefined) {
      this.delays.delete(record.id)
      await new Promise<void>((resolve) => this.clock.setTimer(delay, resolve))
    }
    const failures = this.failures.get(record.id) ?? 0
    if (failures > 0) {
      if (failures === 1) this.failures.delete(record.id)
      else this.failures.set(record.id, failures - 1)
      throw new StorageFailureError(`write of account '${record.id}' failed`, { data: { account: record.id } })
    }
    this.records.set(record.id, structuredClone(record))
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.records.keys()])
  }
}
