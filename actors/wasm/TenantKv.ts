/**
 * The host side of the `kv` capability: one key-value map per tenant, so a guest granted `kv` sees
 * only its own tenant's entries. A call works on a copy; its writes are committed only when it
 * returns normally. In memory: a durable store would sit behind the same two methods.
 */
export class TenantKv {
  private readonly tenants = new Map<string, Map<string, Uint8Array>>()

  entries(tenant: string): Array<[string, Uint8Array]> {
    return [...(this.tenants.get(tenant) ?? [])]
  }

  commit(tenant: string, writes: ReadonlyArray<readonly [string, Uint8Array]>): void {
    if (writes.length === 0) return
    let map = this.tenants.get(tenant)
    if (map === undefined) {
      map = new Map()
      this.tenants.set(tenant, map)
    }
    for (const [k, v] of writes) map.set(k, v)
  }

  get(tenant: string, key: string): Uint8Array | undefined {
    return this.tenants.get(tenant)?.get(key)
  }
}
